from .sdl_schedule_hook import SDLScheduleHook, find_sdl_modules

__all__ = ['SDLScheduleHook', 'find_sdl_modules']
