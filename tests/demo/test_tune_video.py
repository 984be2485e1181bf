"""``python -m demo.tune_video``: each variant changes only its setting, and
the runs are scored on the rendered tuning set, never the demo's test
split."""
import os.path as osp

import pytest
import torch

from demo import tune_video


@pytest.fixture
def demo_dir(tmp_path):
    """The parts of a finished demo run that the variants read."""
    for sub in ('landmark', 'image'):
        (tmp_path / sub).mkdir()
    torch.save({}, str(tmp_path / 'landmark' / 'landmark.pth'))
    torch.save({}, str(tmp_path / 'image' / 'epoch_1.pth'))
    (tmp_path / 'image' / 'last_checkpoint').write_text(
        str(tmp_path / 'image' / 'epoch_1.pth'))
    return str(tmp_path)


def test_variants_change_only_their_setting(demo_dir, tmp_path):
    cfgs = {v: tune_video.variant_config(v, demo_dir, str(tmp_path / 'tune'),
                                         seed=3)
            for v in tune_video.VARIANTS}
    te = {v: c.optim_wrapper.paramwise_cfg.custom_keys['temporal_embedding']
          for v, c in cfgs.items()}
    assert te['te_lr1'] == dict(decay_mult=0., lr_mult=1.)
    assert te['te_lr10'] == dict(decay_mult=0., lr_mult=10.)
    assert te['order'] == te['te_lr1']
    order_tma = cfgs['order'].model.backbone.tma
    assert order_tma.frame_offset_bias == 4.0
    assert order_tma.linear_init == 'xavier'
    assert 'frame_offset_bias' not in cfgs['te_lr10'].model.backbone.tma
    # te_lr10 is the shipped demo recipe
    from mmengine.config import Config

    from demo import stages
    shipped = Config.fromfile(stages.VIDEO_CONFIG)
    assert shipped.optim_wrapper.paramwise_cfg.custom_keys[
        'temporal_embedding'] == te['te_lr10']
    for cfg in cfgs.values():
        test = cfg.test_dataloader.dataset
        assert test.data_root == str(tmp_path / 'tune')
        assert test.ann_file == 'train_set_{fold}.csv'
        assert cfg.train_dataloader.dataset.data_root == osp.join(
            demo_dir, 'data')
        assert cfg.model.backbone.init_cfg.checkpoint == osp.join(
            demo_dir, 'image', 'epoch_1.pth')
        assert cfg.randomness.seed == 3


def test_refuses_a_folder_without_a_demo_run(tmp_path):
    with pytest.raises(SystemExit, match='no finished demo run'):
        tune_video.main(['--demo-dir', str(tmp_path)])
