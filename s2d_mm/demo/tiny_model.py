"""A tiny, untrained S2D model (config + checkpoint) for smoke tests.

It is the demo's video model (``configs/demo/s2d_video_...``) shrunk to a
few thousand parameters: same classes, modules, pipelines and checkpoint
layout, so inference code can be exercised end to end in seconds without
training anything. Its predictions are meaningless.
"""
import os
import os.path as osp

import torch

from s2d_mm.testing import tiny_landmark_net

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_VIDEO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo',
                             's2d_video_vit-tiny_synthetic-dfew_8x64.py')


def tiny_s2d_config(num_frames=4, img_side=32, embed_dims=32):
    """The demo video config shrunk; the landmark branch is a randomly
    initialised narrow MobileFaceNet (no checkpoint needed)."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_VIDEO_CONFIG)
    patch = 8
    grid = img_side // patch
    lm = cfg.model.backbone.landmark
    lm.update(
        model=tiny_landmark_net(
            num_joints=68, feat_size=max(1, img_side // 16)),
        checkpoint=None,
        input_size=(img_side, img_side),
        grid_size=(grid, grid))
    cfg.model.backbone.update(
        arch=dict(embed_dims=embed_dims, num_layers=2, num_heads=2,
                  feedforward_channels=2 * embed_dims),
        img_size=img_side,
        num_frames=num_frames,
        landmark_channels=32,
        tma=dict(ratio=0.25, num_heads=2),
        tma_init='release')
    cfg.model.cls_head.update(in_channels=embed_dims)
    cfg.model.cls_head.loss_sdl.update(feat_dim=embed_dims)
    for pipeline in (cfg.test_pipeline, cfg.train_pipeline,
                     cfg.test_dataloader.dataset.pipeline,
                     cfg.train_dataloader.dataset.pipeline):
        for step in pipeline:
            if step['type'] == 'SampleFrames':
                step['clip_len'] = num_frames
            if step['type'] == 'Resize':
                step['scale'] = (img_side, img_side)
    return cfg


def make_tiny_s2d(out_dir, seed=0, **kwargs):
    """Write ``tiny_s2d.py`` and ``tiny_s2d.pth`` (random weights) into
    ``out_dir``; returns their paths."""
    from s2d_mm.apis import init_model
    os.makedirs(out_dir, exist_ok=True)
    cfg = tiny_s2d_config(**kwargs)
    cfg_path = osp.join(out_dir, 'tiny_s2d.py')
    cfg.dump(cfg_path)
    torch.manual_seed(seed)
    model = init_model(cfg_path, None, device='cpu')
    ckpt_path = osp.join(out_dir, 'tiny_s2d.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(note='untrained tiny S2D for smoke tests')),
               ckpt_path)
    return cfg_path, ckpt_path
