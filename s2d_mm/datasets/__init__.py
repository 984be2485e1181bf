from .dfew import DFEWDataset  # noqa: F401
from .ferv39k import FERV39kDataset  # noqa: F401
from .image_datasets import AffectNetDataset, FERPlusDataset, RAFDBDataset  # noqa: F401
from .labelled_videos import LabelledVideoDataset  # noqa: F401
from .mafw import MAFWDataset  # noqa: F401
from .samplers import ClassBalancedSampler  # noqa: F401
from .transforms import ApplyToFrames, CropFaceBBox, ReleaseSampleFrames, SpatialCrops  # noqa: F401
