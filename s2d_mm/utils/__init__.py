from .checkpoint import (MMENGINE_CHECKPOINT_GLOBALS, UnsafeCheckpointError,
                         load_checkpoint_file)

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'load_checkpoint_file'
]
