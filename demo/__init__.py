"""The demo (``make demo``): procedurally rendered faces in a DFEW layout,
the three training stages and the driver ``demo/run_demo.py``.

Not part of the installed ``s2d_mm`` package: it is run from a clone of
the repository, whose configs (``configs/demo/``) it trains.
"""
import os.path as osp

from .expressions import DFEW_CLASSES, EXPRESSIONS, MOTION_ONLY_CLASSES
from .synthetic_dfew import generate_dataset, render_clip, render_scene_clip

#: the clone this demo belongs to (its configs and work_dirs)
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parser_on_demo_run(description, work_name):
    """Argument parser of a command that trains more from a finished
    ``make demo`` run: ``--demo-dir`` (its data, landmark network and
    image stage) and ``--work-dir`` (``work_dirs/<work_name>``)."""
    import argparse
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--demo-dir', default=osp.join(REPO_ROOT, 'work_dirs',
                                                  'demo'),
                   help="make demo's output (data, landmark, image stage)")
    p.add_argument('--work-dir',
                   default=osp.join(REPO_ROOT, 'work_dirs', work_name))
    return p

__all__ = [
    'REPO_ROOT', 'DFEW_CLASSES', 'EXPRESSIONS', 'MOTION_ONLY_CLASSES',
    'generate_dataset', 'render_clip', 'render_scene_clip',
    'parser_on_demo_run'
]
