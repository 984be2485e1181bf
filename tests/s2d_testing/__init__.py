"""Test helpers: tiny fake datasets in the official layouts
(:mod:`s2d_testing.fake_data`) and tiny model pieces
(:mod:`s2d_testing.tiny`). ``tests/`` is on ``sys.path`` under pytest
(``tests/conftest.py``), so tests import them as ``s2d_testing``."""
from .tiny import make_tiny_s2d, tiny_landmark_net, tiny_model_cfg, tiny_s2d_config

__all__ = [
    'make_tiny_s2d', 'tiny_landmark_net', 'tiny_model_cfg', 'tiny_s2d_config'
]
