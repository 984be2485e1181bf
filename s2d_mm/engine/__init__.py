# Each module adds its import line here when it lands.
from .hooks import SDLScheduleHook, find_sdl_modules  # noqa: F401
