"""The video configs start from an image-stage checkpoint by path."""
import os.path as osp

import torch
from mmengine.runner import Runner

from s2d_mm.utils.checkpoint import load_checkpoint_file

from .test_shipped_configs import REPO, _shrink_data, _shrink_model, load_tool


def test_image_checkpoint_initialises_the_video_backbone(tmp_path):
    train = load_tool('train')
    # 1. tiny image stage, one epoch
    image_cfg = train.build_config(train.parse_args([
        osp.join(REPO, 'configs/image/vitmcp_vit-base-p16_rafdb.py'),
        '--work-dir', str(tmp_path / 'image'), '--cfg-options',
        'train_cfg.max_epochs=1', 'experiment_name=handoff_image'
    ]))
    _shrink_model(image_cfg.model)
    _shrink_data(image_cfg, tmp_path / 'img_data')
    image_cfg.train_cfg.val_begin = 2
    Runner.from_cfg(image_cfg).train()
    ckpt = str(tmp_path / 'image' / 'epoch_1.pth')
    image_state = load_checkpoint_file(ckpt, map_location='cpu')['state_dict']

    # 2. video config pointed at it through its top-level variable only
    video_cfg = train.build_config(train.parse_args([
        osp.join(REPO, 'configs/s2d_dfew.py'), '--work-dir',
        str(tmp_path / 'video'), '--cfg-options', f'image_stage_ckpt={ckpt}',
        'experiment_name=handoff_video'
    ]))
    assert video_cfg.model.backbone.init_cfg.checkpoint == ckpt
    init_cfg = video_cfg.model.backbone.init_cfg
    _shrink_model(video_cfg.model)  # drops init_cfg, put it back
    video_cfg.model.backbone.init_cfg = init_cfg
    _shrink_data(video_cfg, tmp_path / 'vid_data')
    runner = Runner.from_cfg(video_cfg)
    runner._init_model_weights()
    video_state = runner.model.state_dict()
    shared = [k for k in image_state
              if k.startswith('backbone.') and k in video_state
              and not k.startswith('backbone.landmark.')]
    assert any('prompters.1' in k for k in shared)
    assert any('layers.1' in k for k in shared)
    for key in shared:
        torch.testing.assert_close(video_state[key], image_state[key],
                                   msg=key)
    # what the image model lacks starts fresh
    assert 'backbone.temporal_embedding' in video_state
    assert not any('.tma.' in k for k in image_state)
