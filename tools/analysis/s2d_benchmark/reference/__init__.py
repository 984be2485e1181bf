"""Release-style reference path, for benchmarks and equivalence tests.

The modules here reproduce *how* the authors' release computes S2D (eager
attention, every test view run, every frame decoded, a per-sample Python
loop for the anchor search and FIFO push, the landmark network in float32 in
every forward including an extra forward for the anchor refresh) on top of
this project's modules, so that ``tools/analysis/benchmark.py`` can time the
two side by side and ``tests/perf`` can check they compute the same thing.
They are not imported by ``import s2d_mm``; import this package explicitly.
"""
from .anchor_search import loop_soft_target, loop_update, use_python_loop_anchor_search
from .attention import eager_attention, set_attention_impl
from .decode import ReleaseStyleRawFrameDecode
from .recognizer import ReleaseStyleS2DRecognizer, force_float32

__all__ = [
    'eager_attention', 'set_attention_impl', 'loop_soft_target',
    'loop_update', 'use_python_loop_anchor_search',
    'ReleaseStyleRawFrameDecode', 'ReleaseStyleS2DRecognizer', 'force_float32'
]
