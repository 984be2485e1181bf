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
    apply_fold,
    build_runner,
    check_fold_options,
    init_cpu_distributed,
    load_experiment_config,
    propagate_path_variables,
    resolve_config,
)
