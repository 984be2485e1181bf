"""Tiny S2D models shared by the perf tests."""
import s2d_benchmark.reference  # noqa: F401
import torch
from mmengine.registry import init_default_scope
from s2d_testing.tiny import tiny_model_cfg

import s2d_mm  # noqa: F401

NUM_FRAMES, IMG, DIMS, CLASSES = 4, 32, 32, 7


def build_pair(**kwargs):
    """Project recognizer and release-style reference, same weights."""
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    torch.manual_seed(0)
    fast = MODELS.build(tiny_model_cfg(**kwargs))
    fast.init_weights()
    ref = MODELS.build(tiny_model_cfg(type='ReleaseStyleS2DRecognizer',
                                      **kwargs))
    ref.load_state_dict(fast.state_dict())
    return fast.eval(), ref.eval()

