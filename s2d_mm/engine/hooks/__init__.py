from .epoch_seed_hook import EpochSeedHook
from .frozen_bn_hook import FrozenBatchNormHook, batch_norm_layers
from .inference_precision_hook import InferencePrecisionHook
from .sdl_schedule_hook import SDLScheduleHook, find_sdl_modules
from .strict_load_hook import StrictLoadHook, ensure_strict_load_hook

__all__ = [
    'EpochSeedHook', 'FrozenBatchNormHook', 'batch_norm_layers',
    'InferencePrecisionHook',
    'SDLScheduleHook', 'find_sdl_modules', 'StrictLoadHook',
    'ensure_strict_load_hook'
]
