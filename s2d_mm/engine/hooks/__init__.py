from .epoch_seed_hook import EpochSeedHook
from .sdl_schedule_hook import SDLScheduleHook, find_sdl_modules

__all__ = ['EpochSeedHook', 'SDLScheduleHook', 'find_sdl_modules']
