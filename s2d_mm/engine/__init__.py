from .config_variables import ConfigOverrideError, load_config  # noqa: F401
from .hooks import (  # noqa: F401
    EpochSeedHook,
    FrozenBatchNormHook,
    SDLScheduleHook,
    StrictLoadHook,
    find_sdl_modules,
)
from .optim_wrappers import CPUAmpOptimWrapper  # noqa: F401
from .runner_utils import (  # noqa: F401
    adapt_to_machine,
    build_runner,
    check_clip_length,
    check_fold_options,
    init_cpu_distributed,
    load_experiment_config,
    resolve_config,
)
