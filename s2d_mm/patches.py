"""Every change that ``import s2d_mm`` makes to a third-party library.

``import s2d_mm`` (what ``custom_imports = dict(imports=['s2d_mm'])`` runs)
calls :func:`apply_patches`, which applies the patches below unless the
environment variable ``S2D_DISABLE_PATCHES`` names them (comma-separated,
or ``all``). :func:`restore` undoes one at run time. Nothing else in the
package changes code of another library.

``safe_checkpoint_loading``
    *Why*: torch >= 2.6 unpickles with ``weights_only=True`` by default and
    mmengine 0.10.7 calls ``torch.load`` without saying otherwise, so
    ``resume=True`` fails on the history buffers (and the numpy arrays in
    them and in the dataset meta) that every mmengine Runner stores;
    switching ``weights_only`` off would let a checkpoint run arbitrary code.
    *What*: replaces the loader of mmengine's ``CheckpointLoader`` for local
    paths (the scheme with the empty prefix) by
    :func:`s2d_mm.utils.checkpoint.load_checkpoint_file`: still
    ``weights_only=True``, plus exactly the globals that mmengine Runners of
    any OpenMMLab codebase write
    (:data:`~s2d_mm.utils.checkpoint.MMENGINE_CHECKPOINT_GLOBALS`); also reads
    ``.safetensors``. Other schemes (``http://``, ``s3://``, ``mmcls://``,
    ...) and direct ``torch.load`` calls stay as they are. Checkpoints of
    other codebases load as before, or where they failed on torch >= 2.6
    (``resume``), now load. *Off*: ``S2D_DISABLE_PATCHES=safe_checkpoint_loading``.

``mmaction_config_lookup``
    *Why*: mmengine 0.10.7 finds an external base config
    (``_base_ = ['mmaction::...']``) in the metafiles of the package and
    assumes each model's ``Config`` entry is a string; one metafile of
    mmaction2 1.1.0 (``localization/bsn``) has a list there, so *every*
    ``mmaction::`` config fails with ``AttributeError: 'list' object has no
    attribute 'partition'``. *What*: replaces the private
    ``mmengine.config.utils._get_cfg_metainfo`` by the same lookup that also
    accepts a list; unknown names still raise ``ValueError`` as mmengine
    expects. *Off*: ``S2D_DISABLE_PATCHES=mmaction_config_lookup`` (the
    configs of ``configs/mix/`` then no longer resolve).
"""
import os
import os.path as osp
from typing import Callable, Dict

__all__ = ['PATCHES', 'apply_patches', 'restore', 'applied']

_ORIGINALS: Dict[str, object] = {}


def _apply_safe_checkpoint_loading():
    from mmengine.runner.checkpoint import CheckpointLoader

    from .utils.checkpoint import load_checkpoint_file

    def load_local(filename, map_location):
        return load_checkpoint_file(osp.expanduser(filename), map_location)

    _ORIGINALS.setdefault('safe_checkpoint_loading',
                          CheckpointLoader._schemes.get(''))
    CheckpointLoader.register_scheme(prefixes='', loader=load_local,
                                     force=True)


def _restore_safe_checkpoint_loading(original):
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=original, force=True)


def _tolerant_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    """``mmengine.config.utils._get_cfg_metainfo`` accepting a list of
    configs per model entry."""
    from mmengine.fileio import load
    meta_index = load(osp.join(package_path, '.mim', 'model-index.yml'))
    cfg_dict = dict()
    for meta_path in meta_index['Import']:
        cfg_meta = load(osp.join(package_path, '.mim', meta_path))
        for model_cfg in cfg_meta.get('Models') or []:
            configs = model_cfg.get('Config')
            if configs is None:
                continue
            if isinstance(configs, str):
                configs = [configs]
            for config in configs:
                name = str(config).partition('/')[-1]
                cfg_dict.setdefault(name, dict(model_cfg, Config=config))
    if cfg_path not in cfg_dict:
        raise ValueError(f'Expected configs: {cfg_dict.keys()}, but got '
                         f'{cfg_path}')
    return cfg_dict[cfg_path]


def _apply_mmaction_config_lookup():
    from mmengine.config import utils as cfg_utils
    _ORIGINALS.setdefault('mmaction_config_lookup',
                          cfg_utils._get_cfg_metainfo)
    cfg_utils._get_cfg_metainfo = _tolerant_cfg_metainfo


def _restore_mmaction_config_lookup(original):
    from mmengine.config import utils as cfg_utils
    cfg_utils._get_cfg_metainfo = original


#: name -> (apply, restore)
PATCHES: Dict[str, tuple] = {
    'safe_checkpoint_loading': (_apply_safe_checkpoint_loading,
                                _restore_safe_checkpoint_loading),
    'mmaction_config_lookup': (_apply_mmaction_config_lookup,
                               _restore_mmaction_config_lookup),
}


def _disabled():
    names = {n.strip() for n in
             os.environ.get('S2D_DISABLE_PATCHES', '').split(',') if n.strip()}
    unknown = names - set(PATCHES) - {'all'}
    if unknown:
        raise ValueError(f'S2D_DISABLE_PATCHES names unknown patches '
                         f'{sorted(unknown)}; known: {sorted(PATCHES)}')
    return set(PATCHES) if 'all' in names else names


def apply_patches() -> None:
    """Apply every patch of :data:`PATCHES` not disabled by
    ``S2D_DISABLE_PATCHES`` (idempotent)."""
    disabled = _disabled()
    for name, (apply, _) in PATCHES.items():
        if name not in disabled:
            apply()


def applied(name: str) -> bool:
    """Whether the patch ``name`` is in effect."""
    if name == 'safe_checkpoint_loading':
        from mmengine.runner.checkpoint import CheckpointLoader
        original = _ORIGINALS.get(name)
        return (original is not None
                and CheckpointLoader._schemes.get('') is not original)
    if name == 'mmaction_config_lookup':
        from mmengine.config import utils as cfg_utils
        return cfg_utils._get_cfg_metainfo is _tolerant_cfg_metainfo
    raise KeyError(f'unknown patch {name!r}; known: {sorted(PATCHES)}')


def restore(name: str) -> None:
    """Undo the patch ``name``: the library's own code is back in place."""
    if name not in PATCHES:
        raise KeyError(f'unknown patch {name!r}; known: {sorted(PATCHES)}')
    original = _ORIGINALS.pop(name, None)
    if original is not None:
        restore_fn: Callable = PATCHES[name][1]
        restore_fn(original)
