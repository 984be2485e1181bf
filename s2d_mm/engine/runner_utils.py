"""Config adjustments shared by ``tools/train.py`` and ``tools/test.py``."""
import os
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _set_fold(node, fold) -> int:
    """Set every ``fold`` key found in nested dicts/lists of ``node``."""
    hits = 0
    if isinstance(node, dict):
        if 'fold' in node:
            node['fold'] = fold
            hits += 1
        for value in node.values():
            hits += _set_fold(value, fold)
    elif isinstance(node, (list, tuple)):
        for value in node:
            hits += _set_fold(value, fold)
    return hits


def check_fold_options(cfg: Config, cfg_options: dict) -> None:
    """Refuse per-dataset fold overrides in configs that have the single
    top-level ``fold`` switch (they would be overwritten by it)."""
    if cfg.get('fold', None) is None or not cfg_options:
        return
    nested = [k for k in cfg_options if k.endswith('.fold')]
    if nested and 'fold' not in cfg_options:
        raise ValueError(
            f'--cfg-options {", ".join(nested)}: this config has a top-level '
            '`fold` that is copied into every dataset; set the fold with '
            '--cfg-options fold=K')


def apply_fold(cfg: Config) -> Config:
    """Propagate the top-level ``fold`` variable to the datasets.

    The DFEW and MAFW configs declare ``fold = 1`` at the top and pass
    ``fold=fold`` to every dataset; mmengine resolves the variable when
    the file is read, so ``--cfg-options fold=3`` alone would not reach the
    datasets. This copies ``cfg.fold`` into every ``fold`` key under the
    dataloaders (dataset wrappers included), which makes ``fold`` the single
    switch. Configs without a top-level ``fold`` are returned unchanged.
    """
    if cfg.get('fold', None) is None:
        return cfg
    fold = cfg.fold
    for key in DATALOADER_KEYS:
        if cfg.get(key, None) is not None:
            _set_fold(cfg[key], fold)
    return cfg


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


def _replace_str(node, old: str, new: str) -> int:
    hits = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and value == old:
                node[key] = new
                hits += 1
            else:
                hits += _replace_str(value, old, new)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str) and value == old:
                node[i] = new
                hits += 1
            else:
                hits += _replace_str(value, old, new)
    return hits


def propagate_path_variables(cfg: Config, cfg_options: dict) -> Config:
    """Let ``--cfg-options`` change top-level path variables everywhere.

    Configs name their checkpoints once at the top (``image_stage_ckpt``,
    ``landmark_ckpt``, ``vit_init_ckpt``) and use the variable further
    down; mmengine substitutes the value when the file is read. For every
    top-level string variable given in ``cfg_options``, this replaces the
    variable's old value wherever it was used, so
    ``--cfg-options image_stage_ckpt=PATH`` reaches
    ``model.backbone.init_cfg.checkpoint``. Must be called before the
    options are merged.
    """
    olds = {
        key: cfg.get(key)
        for key, value in (cfg_options or {}).items()
        if '.' not in key and isinstance(value, str)
        and isinstance(cfg.get(key, None), str)
    }
    cfg.merge_from_dict(cfg_options)
    for key, old in olds.items():
        new = cfg[key]
        if new != old:
            for name in list(cfg.keys()):
                if name != key:
                    _replace_str(cfg[name], old, new)
    return cfg


def load_experiment_config(config: str,
                           cfg_options: Optional[dict] = None,
                           launcher: str = 'none',
                           work_dir: Optional[str] = None) -> Config:
    """Read an experiment config as ``tools/train.py`` and ``tools/test.py``
    see it.

    Resolves the path (current directory, then the repository), applies
    ``--cfg-options`` (top-level path variables reach their uses, ``fold``
    reaches every dataset), and sets the launcher and the work dir
    (``--work-dir``, else the config's, else
    ``work_dirs/<config name>[/fold<k>]``).
    """
    cfg = Config.fromfile(resolve_config(config))
    if cfg_options is not None:
        check_fold_options(cfg, cfg_options)
        propagate_path_variables(cfg, cfg_options)
    apply_fold(cfg)
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
