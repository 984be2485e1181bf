from .sdl import EmotionAnchorsSDL  # noqa: F401
