from .convert import (  # noqa: F401
                      CheckpointConversionError,
                      convert_file,
                      convert_state_dict,
                      detect_source_kind,
                      infer_arch,
)
from .stage_transfer import StageTransferError, load_static_checkpoint  # noqa: F401,E402
