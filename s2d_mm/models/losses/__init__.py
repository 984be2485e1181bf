# Each module adds its import line here when it lands.
from .sdl import EmotionAnchorsSDL  # noqa: F401
