"""Test helpers: tiny fake datasets in the official layouts
(:mod:`s2d_mm.testing.fake_data`) and tiny model pieces
(:mod:`s2d_mm.testing.tiny`)."""
from .tiny import tiny_landmark_net

__all__ = ['tiny_landmark_net']
