from . import backbones, heads, losses, recognizers  # noqa: F401
from . import data_preprocessors  # noqa: F401
from . import utils  # noqa: F401  (registers ImageStageInit)
