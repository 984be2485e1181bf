"""Checkpoints written by the Runners of mmpretrain, mmaction2 and mmpose
load through the safe loader that ``import s2d_mm`` installs.

Each test trains a stock model of that codebase (its registry scope, its
dataset class and data preprocessor) for one epoch, then resumes from the
saved checkpoint for a second one: what their Runners store (history
buffers, dataset meta with numpy arrays, empty arrays among them) must be on
the allow-list, and the resumed run must start from the saved state.
"""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import s2d_mm  # noqa: F401  (installs the safe loader)
from s2d_mm.utils import load_checkpoint_file


def _write_png(path, value, size=16, channels=3):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(int(value))
    img = np.clip(rng.normal(value, 20, (size, size, channels)), 0, 255)
    cv2.imwrite(path, img.astype(np.uint8))


def _train_then_resume(cfg_dict, work_dir):
    """Train ``max_epochs=1``, then resume to 2; returns the first run's
    checkpoint (as loaded) and the second runner."""
    cfg = Config(cfg_dict)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.default_hooks = dict(
        checkpoint=dict(type='CheckpointHook', interval=1),
        logger=dict(type='LoggerHook', interval=1))
    cfg.randomness = dict(seed=0)
    cfg.experiment_name = 'first'
    first = Runner.from_cfg(cfg)
    first.train()
    ckpt_path = osp.join(work_dir, 'epoch_1.pth')
    saved = load_checkpoint_file(ckpt_path)
    # nothing changes for the other codebase: what mmengine's loader (as
    # patched) returns is what an unrestricted torch.load of this trusted
    # file returns
    from mmengine.runner.checkpoint import _load_checkpoint
    trusted = torch.load(ckpt_path, weights_only=False)
    through_mmengine = _load_checkpoint(ckpt_path, map_location='cpu')
    assert through_mmengine.keys() == trusted.keys()
    for key, value in trusted['state_dict'].items():
        torch.testing.assert_close(through_mmengine['state_dict'][key],
                                   value, msg=key)
    assert repr(through_mmengine['meta']) == repr(trusted['meta'])

    cfg.train_cfg = dict(by_epoch=True, max_epochs=2)
    cfg.resume = True
    cfg.experiment_name = 'second'
    second = Runner.from_cfg(cfg)
    start = {}

    from mmengine.hooks import Hook

    class _Record(Hook):

        def before_train(self, runner):
            model = runner.model.module if hasattr(runner.model, 'module') \
                else runner.model
            start.update(epoch=runner.epoch,
                         state={k: v.detach().clone()
                                for k, v in model.state_dict().items()})

    second.register_hook(_Record(), priority='LOWEST')
    second.train()
    assert start['epoch'] == 1 and second.epoch == 2
    for key, value in saved['state_dict'].items():
        torch.testing.assert_close(start['state'][key], value, msg=key)
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    return saved, second


def _optim():
    return dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01,
                                                  momentum=0.9)))


def test_mmpretrain_runner_checkpoint_resumes(tmp_path):
    root = tmp_path / 'imgs'
    for c in range(3):
        for i in range(4):
            _write_png(str(root / f'class{c}' / f'{i}.png'), 40 + 60 * c + i)
    cfg = dict(
        default_scope='mmpretrain',
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(num_classes=3, mean=[127.5] * 3,
                                   std=[64.0] * 3),
            backbone=dict(type='MobileNetV2', widen_factor=0.25,
                          out_indices=(7, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=1280,
                      loss=dict(type='CrossEntropyLoss'))),
        train_dataloader=dict(
            batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='CustomDataset', data_root=str(root),
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='PackInputs')])),
        **_optim())
    saved, _ = _train_then_resume(cfg, tmp_path / 'work')
    assert saved['meta']['dataset_meta']['classes'] == ('class0', 'class1',
                                                        'class2')
    assert 'message_hub' in saved and 'optimizer' in saved


def test_mmaction2_runner_checkpoint_resumes(tmp_path):
    root = tmp_path / 'frames'
    lines = []
    for c in range(3):
        for i in range(2):
            name = f'clip{c}{i}'
            for t in range(4):
                _write_png(str(root / name / f'img_{t + 1:05d}.jpg'),
                           40 + 60 * c + 5 * t)
            lines.append(f'{name} 4 {c}')
    ann = tmp_path / 'train.txt'
    ann.write_text('\n'.join(lines) + '\n')
    cfg = dict(
        default_scope='mmaction',
        model=dict(
            type='Recognizer2D',
            data_preprocessor=dict(type='ActionDataPreprocessor',
                                   mean=[127.5] * 3, std=[64.0] * 3,
                                   format_shape='NCHW'),
            backbone=dict(type='MobileNetV2', widen_factor=0.25),
            cls_head=dict(type='TSNHead', num_classes=3, in_channels=1280,
                          average_clips='prob')),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(
                type='RawframeDataset', ann_file=str(ann),
                data_prefix=dict(img=str(root)),
                pipeline=[
                    dict(type='SampleFrames', clip_len=1, frame_interval=1,
                         num_clips=2),
                    dict(type='RawFrameDecode'),
                    dict(type='Resize', scale=(16, 16), keep_ratio=False),
                    dict(type='FormatShape', input_format='NCHW'),
                    dict(type='PackActionInputs')
                ])),
        **_optim())
    saved, _ = _train_then_resume(cfg, tmp_path / 'work')
    assert 'message_hub' in saved and 'optimizer' in saved


@pytest.fixture(scope='module')
def demo_landmark_data(tmp_path_factory):
    from demo import generate_dataset
    root = str(tmp_path_factory.mktemp('synthetic_dfew'))
    generate_dataset(root, seed=3, clips_per_class=2, num_frames=4,
                     img_size=48, stills_per_class=1, progress=False)
    return root


def test_mmpose_runner_checkpoint_resumes(tmp_path, repo_root,
                                          demo_landmark_data):
    """The demo's MobileFaceNet landmark training (mmpose Runner, 300-W
    dataset meta with empty ``skeleton_links``)."""
    cfg = Config.fromfile(osp.join(
        repo_root, 'configs', 'demo',
        'landmark_mobilefacenet-s_synthetic-64px.py')).to_dict()
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key]['dataset']['data_root'] = demo_landmark_data
    cfg['train_dataloader']['batch_size'] = 8
    cfg['param_scheduler'] = []
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg.pop(key, None)
    saved, _ = _train_then_resume(cfg, tmp_path / 'work')
    meta = saved['meta']['dataset_meta']
    # what made the loader refuse mmpose checkpoints before: an empty array
    empty = [k for k, v in meta.items()
             if isinstance(v, np.ndarray) and v.size == 0]
    assert empty, 'expected an empty numpy array in the 300-W meta'
    assert meta['num_keypoints'] == 68
