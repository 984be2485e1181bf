"""Test helpers: tiny fake datasets in the official layouts
(:mod:`s2d_testing.fake_data`) and tiny model pieces
(:mod:`s2d_testing.tiny`). ``tests/`` is on ``sys.path`` under pytest
(``tests/conftest.py``), so tests import them as ``s2d_testing``."""
from .tiny import make_tiny_s2d, tiny_landmark_net, tiny_model_cfg, tiny_s2d_config

__all__ = [
    'innermost_datasets', 'load_script', 'make_tiny_s2d', 'tiny_landmark_net',
    'tiny_model_cfg', 'tiny_s2d_config'
]


def load_script(*parts):
    """Import a script of the clone (``tools/``, ``demo/``: not packages)
    as a module, e.g. ``load_script('tools', 'train.py')``."""
    import importlib.util
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    path = osp.join(root, *parts)
    name = 's2d_script_' + '_'.join(parts).replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def innermost_datasets(node):
    """Innermost dataset dicts of a dataloader config (wrappers too:
    ``dataset=``, ``datasets=[...]``); ``[]`` for ``None``."""
    if node is None:
        return []
    if 'dataset' in node:
        return innermost_datasets(node['dataset'])
    if 'datasets' in node:
        return [d for sub in node['datasets'] for d in innermost_datasets(sub)]
    return [node]
