"""s2d_mm: S2D (From Static to Dynamic, arXiv 2312.05447) for mmaction2.

``import s2d_mm`` (or ``custom_imports = dict(imports=['s2d_mm'])`` in a
config) registers every module of the plugin in the OpenMMLab registries and
makes checkpoint loading safe on torch >= 2.6.
"""
from .version import __version__, version_info
from .utils import patch_external_config_lookup, setup_safe_checkpoint_loading

setup_safe_checkpoint_loading()
# mmengine 0.10.7 cannot resolve any `mmaction::` base config without this.
patch_external_config_lookup()

from . import models  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import engine  # noqa: E402,F401

__all__ = ['__version__', 'version_info']
