# Each module adds its import line here when it lands.
from .hooks import EpochSeedHook, SDLScheduleHook, find_sdl_modules  # noqa: F401
from .runner_utils import adapt_to_machine, apply_fold, init_cpu_distributed, resolve_config  # noqa: F401
