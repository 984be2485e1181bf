# utils registers ImageStageInit (mmengine WEIGHT_INITIALIZERS)
from . import backbones, data_preprocessors, heads, losses, recognizers, utils  # noqa: F401
