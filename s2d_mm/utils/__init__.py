from .config_compat import patch_external_config_lookup
from .checkpoint import (MMENGINE_CHECKPOINT_GLOBALS, UnsafeCheckpointError,
                         load_checkpoint_file, setup_safe_checkpoint_loading)

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'load_checkpoint_file', 'patch_external_config_lookup',
    'setup_safe_checkpoint_loading'
]
