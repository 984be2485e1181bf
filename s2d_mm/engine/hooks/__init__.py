from .epoch_seed_hook import EpochSeedHook
from .sdl_schedule_hook import SDLScheduleHook, find_sdl_modules
from .strict_load_hook import StrictLoadHook, ensure_strict_load_hook

__all__ = [
    'EpochSeedHook', 'SDLScheduleHook', 'find_sdl_modules', 'StrictLoadHook',
    'ensure_strict_load_hook'
]
