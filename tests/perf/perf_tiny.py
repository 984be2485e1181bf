"""Tiny S2D models shared by the perf tests."""
import copy

import torch
from mmengine.registry import init_default_scope

import s2d_mm  # noqa: F401
import s2d_mm.models.reference  # noqa: F401
from s2d_mm.testing import tiny_landmark_net

TINY_LANDMARK = tiny_landmark_net(feat_size=4)

NUM_FRAMES, IMG, DIMS, CLASSES = 4, 32, 32, 7


def tiny_model_cfg(type='S2DRecognizer', sdl=True, dropout=0.0, **backbone):
    bb = dict(
        type='S2DViT',
        arch=dict(embed_dims=DIMS, num_layers=2, num_heads=4,
                  feedforward_channels=64),
        img_size=IMG, patch_size=8, num_frames=NUM_FRAMES,
        landmark=dict(type='LandmarkFeatureExtractor',
                      model=copy.deepcopy(TINY_LANDMARK), input_size=64,
                      grid_size=IMG // 8),
        landmark_channels=32, tma=dict(ratio=0.25, num_heads=2))
    bb.update(backbone)
    head = dict(type='S2DHead', num_classes=CLASSES, in_channels=DIMS,
                dropout_ratio=dropout, average_clips='prob')
    if sdl:
        head['loss_sdl'] = dict(type='EmotionAnchorsSDL',
                                num_classes=CLASSES, feat_dim=DIMS,
                                queue_size=4, topk=2)
    return dict(
        type=type, backbone=bb, cls_head=head,
        data_preprocessor=dict(
            type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], format_shape='NCTHW'))


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

