from .convert import (CheckpointConversionError, convert_file,  # noqa: F401
                      convert_state_dict, detect_source_kind, infer_arch)
from .stage_transfer import StageTransferError, load_static_checkpoint  # noqa: F401,E402
