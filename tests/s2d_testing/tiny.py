"""Tiny model pieces for tests and smoke runs (seconds on a CPU).

All of them come from one config, ``configs/_base_/models/s2d_tiny.py``
(also what ``tools/analysis/benchmark.py --tiny`` runs):

- :func:`tiny_landmark_net`: its mmpose landmark network, with the head
  size and output stages a test asks for;
- :func:`tiny_model_cfg`: its S2D model dict, sizes overridable;
- :func:`tiny_s2d_config` / :func:`make_tiny_s2d`: the demo's video config
  (``configs/demo/s2d_video_...``: classes, pipelines, checkpoint layout)
  with the tiny model in place, written with random weights, so inference
  code can be exercised end to end without training anything.
"""
import copy
import os
import os.path as osp

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                       's2d_tiny.py')
DEMO_VIDEO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo',
                             's2d_video_vit-tiny_synthetic-dfew_8x64.py')


def _tiny_config():
    from mmengine.config import Config
    return Config.fromfile(TINY_CONFIG)


def tiny_landmark_net(out_indices=(5, ), feat_size=2, num_joints=5,
                      preprocessor=True):
    """The tiny config's mmpose face-landmark model (quarter-width
    MobileFaceNet, one block per stage; ``conv_4``, stage index 5, has 32
    channels at 1/8 of the input), ``feat_size`` = input / 16 being the
    head's input size."""
    model = _tiny_config().landmark_net.to_dict()
    model['backbone']['out_indices'] = tuple(out_indices)
    model['head'].update(num_joints=num_joints, feat_size=feat_size)
    if not preprocessor:
        del model['data_preprocessor']
    return model


def tiny_model_cfg(type='S2DRecognizer', num_frames=None, img_size=None,
                   embed_dims=None, sdl=True, dropout=0.0, num_classes=7,
                   **backbone):
    """The tiny S2D model dict; ``backbone`` keys override the backbone's.

    ``img_size`` also sets the landmark input (same frames) and the grid
    (8-px patches); ``embed_dims`` the head's input and the SDL features.
    """
    model = _tiny_config().model.to_dict()
    bb, head = model['backbone'], model['cls_head']
    model['type'] = type
    if num_frames is not None:
        bb['num_frames'] = num_frames
    if img_size is not None:
        grid = img_size // bb['patch_size']
        bb['img_size'] = img_size
        bb['landmark'].update(input_size=(img_size, img_size),
                              grid_size=(grid, grid))
        bb['landmark']['model']['head']['feat_size'] = max(1, img_size // 16)
    if embed_dims is not None:
        bb['arch'].update(embed_dims=embed_dims,
                          feedforward_channels=2 * embed_dims)
        head['in_channels'] = embed_dims
        head['loss_sdl']['feat_dim'] = embed_dims
    bb.update(copy.deepcopy(backbone))
    head.update(dropout_ratio=dropout, num_classes=num_classes)
    head['loss_sdl']['num_classes'] = num_classes
    if not sdl:
        del head['loss_sdl']
    return model


def tiny_s2d_config(num_frames=4, img_side=32, embed_dims=32):
    """The demo video config with the tiny model (its landmark branch
    randomly initialised, no checkpoint needed) and pipelines sized for
    it."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_VIDEO_CONFIG)
    tiny = tiny_model_cfg(num_frames=num_frames, img_size=img_side,
                          embed_dims=embed_dims, tma_init='release')
    # the demo's classes, preprocessing and SDL schedule; the tiny sizes
    bb, head = cfg.model.backbone, cfg.model.cls_head
    for key in ('arch', 'img_size', 'patch_size', 'num_frames',
                'landmark_channels', 'tma', 'tma_init'):
        bb[key] = tiny['backbone'][key]
    bb.landmark.update(tiny['backbone']['landmark'])
    head.update(in_channels=tiny['cls_head']['in_channels'])
    head.loss_sdl.update(feat_dim=tiny['cls_head']['loss_sdl']['feat_dim'])
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
