"""Let ``_base_ = ['mmaction::...']`` resolve with mmengine 0.10.7.

mmengine looks an external config up in every ``metafile.yml`` listed by the
package's ``model-index.yml`` and assumes each model's ``Config`` is a
string. One of mmaction2 1.1.0's metafiles (``localization/bsn``) has a list
there, so *every* ``mmaction::`` config fails with ``AttributeError: 'list'
object has no attribute 'partition'``. The replacement below reads the same
metafiles and accepts a list (each entry is indexed); it is otherwise the
same lookup, and it raises ``ValueError`` for unknown names as mmengine
expects (mmengine then falls back to the plain path inside the package).
"""
import os.path as osp
import warnings

_PATCHED = False


def _tolerant_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
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


def patch_external_config_lookup() -> None:
    """Install the tolerant lookup in ``mmengine.config`` (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    try:
        from mmengine.config import utils as cfg_utils
    except ImportError:  # pragma: no cover
        warnings.warn('mmengine.config.utils not found; mmaction:: configs '
                      'may not resolve')
        return
    cfg_utils._get_cfg_metainfo = _tolerant_cfg_metainfo
    _PATCHED = True
