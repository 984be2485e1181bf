"""FrozenBatchNormHook: the last epochs train with running statistics."""
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from torch.utils.data import Dataset

from s2d_mm.engine import FrozenBatchNormHook


class _Points(Dataset):

    def __len__(self):
        return 24

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(x=torch.randn(3, 4, 4, generator=g) * 2 + 1,
                    y=torch.randn(2, generator=g))


class _BNNet(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(16, 2, bias=False)
        self.bn1d = nn.BatchNorm1d(2)

    def forward(self, x, y, mode='tensor'):
        out = self.bn1d(self.fc(self.bn(self.conv(x)).flatten(1)))
        if mode == 'loss':
            return dict(loss=((out - y)**2).mean())
        return out


@HOOKS.register_module()
class _RecordBN(Hook):
    """Records, per epoch, BN modes seen in training and the statistics."""
    priority = 'LOWEST'

    def __init__(self):
        self.training = {}
        self.stats = {}
        self.weight = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        bn = runner.model.bn
        self.training.setdefault(runner.epoch, set()).add(
            (bn.training, runner.model.bn1d.training))

    def after_train_epoch(self, runner):
        bn = runner.model.bn
        self.stats[runner.epoch] = (bn.running_mean.clone(),
                                    bn.running_var.clone())
        self.weight[runner.epoch] = bn.weight.detach().clone()


def _collate(batch):
    return dict(x=torch.stack([b['x'] for b in batch]),
                y=torch.stack([b['y'] for b in batch]))


def _train(tmp_path, hooks, max_epochs=4):
    recorder = _RecordBN()
    runner = Runner(
        model=_BNNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_Points(), batch_size=8, collate_fn=_collate,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=hooks + [recorder],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmpose',  # the landmark stage's runtime
        randomness=dict(seed=0),
        log_level='WARNING')
    runner.train()
    return runner, recorder


def test_statistics_stop_moving_from_begin_epoch(tmp_path):
    runner, rec = _train(tmp_path,
                         [dict(type='FrozenBatchNormHook', begin_epoch=2)])
    assert any(isinstance(h, FrozenBatchNormHook) for h in runner.hooks)
    # epochs 0-1: batch statistics; 2-3: every layer in eval mode
    assert rec.training[0] == rec.training[1] == {(True, True)}
    assert rec.training[2] == rec.training[3] == {(False, False)}
    mean0, var0 = rec.stats[0]
    mean1, var1 = rec.stats[1]
    assert not torch.equal(mean0, mean1) and not torch.equal(var0, var1)
    for epoch in (2, 3):
        assert torch.equal(rec.stats[epoch][0], mean1)
        assert torch.equal(rec.stats[epoch][1], var1)
    # the affine parameters keep learning
    assert not torch.equal(rec.weight[2], rec.weight[3])


def test_without_the_hook_statistics_keep_moving(tmp_path):
    _, rec = _train(tmp_path / 'plain', [])
    assert rec.training[3] == {(True, True)}
    assert not torch.equal(rec.stats[2][0], rec.stats[3][0])


def test_batch_statistics_bound_an_outlier_running_statistics_do_not():
    """Why the hook exists: in training mode a frame far off the batch is
    normalised by a spread that it inflates itself, so it cannot come out
    beyond sqrt(B - 1) deviations; with running statistics it can."""
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(1, affine=False)
    batch = torch.randn(16, 1)
    batch[0] = 1000.
    out = bn.train()(batch)
    assert out[0].item() <= (16 - 1)**0.5 + 1e-4
    bn.running_mean.zero_()
    bn.running_var.fill_(1.)
    assert bn.eval()(batch)[0].item() > 900


def test_bad_arguments_and_a_begin_after_the_end(tmp_path):
    with pytest.raises(ValueError, match='begin_epoch'):
        FrozenBatchNormHook(begin_epoch=-1)
    with pytest.raises(ValueError, match='begin_epoch'):
        FrozenBatchNormHook(begin_epoch=1.5)
    runner, rec = _train(tmp_path,
                         [dict(type='FrozenBatchNormHook', begin_epoch=5)],
                         max_epochs=2)
    assert rec.training[1] == {(True, True)}
