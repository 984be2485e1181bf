from .conv_stem import ConvPatchStem  # noqa: F401,E402
from .landmark import LandmarkFeatureExtractor  # noqa: F401,E402
from .mcp import MultiViewComplementaryPrompter  # noqa: F401,E402
from .mobilefacenet import MobileFaceNet, MobileFaceNetHead  # noqa: F401,E402
from .tma import TemporalModelingAdapter  # noqa: F401,E402
from .tma_hooks import TemporalAdapterSet, inject_temporal_adapters  # noqa: F401,E402
from .vit_mcp import S2DViT, ViTMCP  # noqa: F401,E402
