# Each module adds its import line here when it lands.
from .uar_war_metric import UARWARMetric, uar_war  # noqa: F401
