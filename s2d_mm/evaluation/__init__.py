from .landmark_error_metric import LandmarkErrorMetric, frame_errors, outside_box  # noqa: F401
from .uar_war_metric import UARWARMetric, uar_war  # noqa: F401
