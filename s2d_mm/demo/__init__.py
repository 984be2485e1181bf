"""Synthetic data for the demo and tests: procedurally rendered faces."""
from .expressions import DFEW_CLASSES, EXPRESSIONS, MOTION_ONLY_CLASSES
from .synthetic_dfew import generate_dataset, render_clip, render_scene_clip

__all__ = [
    'DFEW_CLASSES', 'EXPRESSIONS', 'MOTION_ONLY_CLASSES', 'generate_dataset',
    'render_clip', 'render_scene_clip'
]
