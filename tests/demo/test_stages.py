"""Helpers of the demo driver: schedules, the no-TMA variant, curves."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

from demo import stages


@pytest.mark.parametrize('epochs', [1, 2, 5, 30])
def test_set_epochs_keeps_a_valid_schedule(epochs):
    cfg = Config.fromfile(stages.VIDEO_CONFIG)
    stages._set_epochs(cfg, epochs)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.default_hooks.checkpoint.interval == epochs
    for s in cfg.param_scheduler:
        assert s['end'] > s.get('begin', 0)
        assert s['end'] <= epochs
        if 'T_max' in s:
            assert s['T_max'] == s['end'] - s['begin']


def test_video_stage_config_variants(tmp_path):
    cfg = stages.video_stage_config('DATA', 'LM.pth', 'IMG.pth', epochs=3,
                                    use_tma=False, out_dir=str(tmp_path),
                                    seed=5)
    bb = cfg.model.backbone
    assert bb.landmark.checkpoint == 'LM.pth'
    assert bb.init_cfg == dict(type='ImageStageInit', checkpoint='IMG.pth')
    assert bb.tma_init == 'zero' and cfg.randomness.seed == 5
    pats = [re.compile(p) for p in bb.trainable]
    trains = lambda n: any(p.search(n) for p in pats)  # noqa: E731
    assert trains('prompters.2.proj_out.weight')
    assert trains('temporal_embedding') and trains('ln1.weight')
    assert not trains('prompters.2.tma.temporal.fc_up.weight')
    assert not trains('layers.0.attn.qkv.weight')
    # held-out validation from the training csv; test split untouched
    tr, va = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert tr.val_split['part'] == 'train' and va.val_split['part'] == 'val'
    assert va.ann_file == tr.ann_file == 'train_set_{fold}.csv'
    assert cfg.test_dataloader.dataset.ann_file == 'test_set_{fold}.csv'
    assert cfg.test_evaluator.out_dir == str(tmp_path)
    # the frozen landmark branch remembers frames; validation every 3 epochs
    assert bb.landmark.memo_frames == stages.VIDEO_LANDMARK_MEMO
    assert cfg.train_cfg.val_interval == 3


def test_deployable_config_runs_without_the_demo_driver():
    """The config written beside the demo checkpoint must build in
    tools/test.py, where the demo's progress hook is not registered."""
    cfg = stages.video_stage_config('DATA', 'LM.pth', 'IMG.pth')
    cfg.custom_hooks.append(dict(type='DemoProgressHook', title='video'))
    out = stages.deployable_config(cfg)
    types = [h['type'] for h in out.custom_hooks]
    assert 'DemoProgressHook' not in types and 'SDLScheduleHook' in types
    assert out.model.backbone.init_cfg is None
    assert 'memo_frames' not in out.model.backbone.landmark
    assert cfg.model.backbone.landmark.memo_frames > 0
    assert cfg.model.backbone.init_cfg is not None  # input left alone
    assert 'DemoProgressHook' in [h['type'] for h in cfg.custom_hooks]


def test_plot_curves(tmp_path):
    losses = [(i, 2.0 / i) for i in range(1, 41)]
    val = [(e, dict(UAR=10.0 * e)) for e in range(1, 5)]
    path = stages.plot_curves([('a', losses, []), ('b', losses, val)],
                              str(tmp_path / 'c.png'))
    assert osp.getsize(path) > 5000
