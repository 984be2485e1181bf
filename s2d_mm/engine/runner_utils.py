"""Config adjustments shared by ``tools/train.py`` and ``tools/test.py``."""
import os
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from .config_variables import ConfigOverrideError, load_config


def check_fold_options(cfg: Config, cfg_options: dict) -> None:
    """Refuse per-dataset fold overrides in configs that have the single
    top-level ``fold`` switch (one dataset on another fold than the rest
    is never what a k-fold protocol wants)."""
    if cfg.get('fold', None) is None or not cfg_options:
        return
    nested = [k for k in cfg_options if k.endswith('.fold')]
    if nested and 'fold' not in cfg_options:
        raise ConfigOverrideError(
            f'--cfg-options {", ".join(nested)}: this config has a top-level '
            '`fold` used by every dataset; set the fold with '
            '--cfg-options fold=K')


def check_clip_length(cfg: Config, cfg_options: Optional[dict]) -> None:
    """Refuse an override that leaves the model's ``num_frames`` and the
    pipelines' ``clip_len`` apart (the temporal embedding has one length;
    the two variables live in sibling ``_base_`` files, which mmengine
    does not let share a name)."""
    if not cfg_options or not {'num_frames', 'clip_len'} & set(cfg_options):
        return
    if 'num_frames' in cfg and 'clip_len' in cfg and \
            cfg.num_frames != cfg.clip_len:
        raise ConfigOverrideError(
            f'--cfg-options: num_frames={cfg.num_frames!r} (frames the model '
            f'takes) differs from clip_len={cfg.clip_len!r} (frames the '
            'pipelines sample); give both, e.g. --cfg-options '
            f'num_frames={cfg.num_frames} clip_len={cfg.num_frames}')


def adapt_to_machine(cfg: Config, launcher: str = 'none') -> Config:
    """Make a GPU config runnable where there is no GPU.

    - ``AmpOptimWrapper`` needs a GPU in mmengine: on a CPU with native
      bf16 it becomes ``CPUAmpOptimWrapper`` (bf16 autocast), elsewhere the
      float32 ``OptimWrapper`` with a warning (``optim_wrappers``).
    - CPU distributed training uses the gloo backend and an unpinned DDP
      wrapper (``device_ids=None``).
    """
    if torch.cuda.is_available():
        return cfg
    from .optim_wrappers import warn_amp_on_cpu
    warn_amp_on_cpu(cfg)  # bf16 autocast where native, else float32
    if launcher != 'none':
        cfg.setdefault('env_cfg', dict())
        cfg.env_cfg.setdefault('dist_cfg', dict())
        cfg.env_cfg.dist_cfg['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg', None) or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    return cfg


def init_cpu_distributed(launcher: str) -> None:
    """Start a gloo process group for ``--launcher pytorch`` without GPU.

    mmengine's own initialisation pins a CUDA device first, which fails on
    a CPU-only machine; the Runner skips it when a group already exists.
    """
    if launcher == 'none' or torch.cuda.is_available() or \
            torch_dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without GPU is not supported; use '
            '--launcher pytorch (torchrun) for CPU runs')
    torch_dist.init_process_group(
        backend='gloo',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']))


#: Root of the source checkout (configs/ lives there).
REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def resolve_config(path: str) -> str:
    """A config path as given, else relative to the repository root, so
    the tools work from any directory."""
    if os.path.isfile(path):
        return path
    candidate = os.path.join(REPO_ROOT, path)
    if os.path.isfile(candidate):
        return candidate
    raise FileNotFoundError(
        f'config file {path!r} not found (looked in {os.getcwd()!r} and '
        f'{REPO_ROOT!r})')


def load_experiment_config(config: str,
                           cfg_options: Optional[dict] = None,
                           launcher: str = 'none',
                           work_dir: Optional[str] = None) -> Config:
    """Read an experiment config as ``tools/train.py`` and ``tools/test.py``
    see it.

    Resolves the path (current directory, then the repository), applies
    ``--cfg-options`` (a top-level variable such as ``fold``,
    ``label_base``, ``num_classes`` or a checkpoint path reaches every use,
    :func:`~s2d_mm.engine.config_variables.load_config`; what cannot is
    refused), and sets the launcher and the work dir
    (``--work-dir``, else the config's, else
    ``work_dirs/<config name>[/fold<k>]``).
    """
    cfg = load_config(resolve_config(config), cfg_options)
    check_fold_options(cfg, cfg_options)
    check_clip_length(cfg, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(config))[0]
        if cfg.get('fold', None) is not None:
            name = os.path.join(name, f'fold{cfg.fold}')
        cfg.work_dir = os.path.join('./work_dirs', name)
    return cfg


def build_runner(cfg: Config, launcher: str = 'none'):
    """The config's runner (``runner_type`` or mmengine's ``Runner``), with
    the process group set up first when CPU processes run distributed and
    the :class:`~s2d_mm.engine.hooks.StrictLoadHook` in every config."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .hooks import ensure_strict_load_hook
    ensure_strict_load_hook(cfg)
    init_cpu_distributed(launcher)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
