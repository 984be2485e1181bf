"""Tiny S2D experiment on generated DFEW-layout data, for the tool tests."""
import os.path as osp

import pytest
from s2d_testing import load_script
from s2d_testing.fake_data import make_fake_dfew

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))

TINY_CFG = '''
_base_ = ['{repo}/configs/_base_/models/s2d_tiny.py',
          '{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/schedules/adamw_cosine_100e_warmup.py']
custom_imports = dict(imports=['s2d_mm', 's2d_tools_probe'],
                      allow_failed_imports=False)
fold = 1
num_classes = 7
model = dict(
    cls_head=dict(
        num_classes=num_classes, dropout_ratio=0.5, label_smooth_eps=0.1,
        loss_cls=dict(type='CrossEntropyLoss'),
        loss_sdl=dict(num_classes=num_classes)),
    data_preprocessor=dict(
        type='S2DDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
        blending=dict(type='RandomBatchAugment', augments=[
            dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
            dict(type='CutmixBlending', alpha=1.0,
                 num_classes=num_classes)])))
train_pipeline = [
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('frame_dir', )),
]
test_pipeline = [
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1,
         test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('frame_dir', )),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='DFEWDataset', ann_file='{train_ann}', fold=fold,
                 label_base=0, data_prefix=dict(video='{frame_root}'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DFEWDataset', ann_file='{test_ann}', fold=fold,
                 label_base=0, data_prefix=dict(video='{frame_root}'),
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='UARWARMetric', save_files=False)
test_evaluator = dict(type='UARWARMetric')
train_cfg = dict(max_epochs=2, val_interval=1)
# SDL on from the first epoch, anchors refreshed every epoch
custom_hooks = [
    dict(type='SDLScheduleHook', milestones=[], values=[1.0], start_epoch=-1,
         update_freq=1),
    dict(type='ToolsProbeHook'),
]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(save_best=None, max_keep_ckpts=-1))
'''


@pytest.fixture(scope='session')
def tiny_experiment(tmp_path_factory):
    """(config path, fake data dict) of a 2-epoch tiny S2D experiment."""
    root = tmp_path_factory.mktemp('tiny_s2d')
    data = make_fake_dfew(str(root / 'dfew'), num_per_class=2, num_frames=5,
                          size=32, folds=(1, 2), test_per_class=1)
    cfg = root / 'tiny_s2d_dfew.py'
    cfg.write_text(
        TINY_CFG.format(repo=REPO, **data))
    return str(cfg), data


def load_tool(name):
    """Import tools/<name>.py as a module (the tools are scripts)."""
    return load_script('tools', f'{name}.py')


@pytest.fixture(autouse=True)
def _probe_on_path(monkeypatch):
    monkeypatch.syspath_prepend(HERE)
