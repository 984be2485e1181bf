"""s2d_mm: S2D (From Static to Dynamic, arXiv 2312.05447) for mmaction2.

``import s2d_mm`` (or ``custom_imports = dict(imports=['s2d_mm'])`` in a
config) registers every module of the plugin in the OpenMMLab registries and
applies the two patches of :mod:`s2d_mm.patches` (safe checkpoint loading on
torch >= 2.6, ``mmaction::`` base configs on mmengine 0.10.7); that module
says what each changes and how to turn it off.
"""
from .version import __version__, version_info
from .patches import apply_patches

apply_patches()

from . import models  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import engine  # noqa: E402,F401

__all__ = ['__version__', 'version_info']
