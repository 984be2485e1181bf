"""Resume and load_from on torch >= 2.6 through the allow-listed loader."""
import copy
import os

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from torch.utils.data import Dataset

from s2d_mm.utils import UnsafeCheckpointError, load_checkpoint_file


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, inputs, labels=None, mode='tensor'):
        logits = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(
                logits, labels))
        return logits


class _TinyData(Dataset):

    def __len__(self):
        return 12

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        return dict(inputs=torch.randn(4, generator=g),
                    labels=torch.tensor(idx % 3))


class _RecordStart(Hook):
    """Records what the runner holds right after load_or_resume."""

    def before_train(self, runner):
        runner.recorded = dict(
            epoch=runner.epoch,
            iter=runner.iter,
            optim=copy.deepcopy(runner.optim_wrapper.optimizer.state_dict()),
            weight=runner.model.fc.weight.detach().clone())


def _runner(work_dir, max_epochs, resume=False, load_from=None):
    return Runner(
        model=_TinyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_TinyData(),
            batch_size=4,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=dict(type='CosineAnnealingLR', by_epoch=True,
                             T_max=3),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=[dict(type=_RecordStart)],
        randomness=dict(seed=0),
        resume=resume,
        load_from=load_from,
        experiment_name=f'exp_{max_epochs}_{resume}')


def test_resume_restores_epoch_and_optimizer(tmp_path):
    first = _runner(tmp_path, max_epochs=2)
    first.train()
    ckpt_path = tmp_path / 'epoch_2.pth'
    assert ckpt_path.is_file()
    saved = load_checkpoint_file(str(ckpt_path))
    # mmengine stores HistoryBuffers and numpy arrays: the allow-list
    # must cover them.
    assert 'message_hub' in saved and saved['meta']['epoch'] == 2

    second = _runner(tmp_path, max_epochs=3, resume=True)
    second.train()
    rec = second.recorded
    assert rec['epoch'] == 2 and rec['iter'] == 6
    torch.testing.assert_close(rec['weight'], saved['state_dict']['fc.weight'])
    saved_state = saved['optimizer']['state']
    assert set(rec['optim']['state']) == set(saved_state)
    for key, state in saved_state.items():
        for name in ('exp_avg', 'exp_avg_sq', 'step'):
            torch.testing.assert_close(rec['optim']['state'][key][name],
                                       state[name])
    # The third epoch really ran from there.
    assert second.epoch == 3 and second.iter == 9
    assert (tmp_path / 'epoch_3.pth').is_file()


def test_load_from_reads_weights(tmp_path):
    src = _runner(tmp_path / 'a', max_epochs=1)
    src.train()
    dst = _runner(tmp_path / 'b', max_epochs=1,
                  load_from=str(tmp_path / 'a' / 'epoch_1.pth'))
    dst.train()
    torch.testing.assert_close(dst.recorded['weight'],
                               src.model.fc.weight.detach())


class _Evil:

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    evil = _Evil()
    evil.marker = marker
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': evil}, path)

    model = nn.Linear(1, 1)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(model, str(path))
    message = str(info.value)
    assert str(path) in message
    assert 'system' in message  # names the offending global
    assert not marker.exists()

    with pytest.raises(UnsafeCheckpointError):
        _runner(tmp_path / 'r', max_epochs=1, load_from=str(path)).train()
    assert not marker.exists()


def test_getattr_is_narrowed(tmp_path):
    """The allow-listed getattr only serves HistoryBuffer's methods."""

    class _Sneaky:

        def __reduce__(self):
            return (getattr, (torch.Tensor, 'new_empty'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': _Sneaky()}, path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        load_checkpoint_file(str(path))


def test_safetensors_and_missing_file(tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / 'w.safetensors'
    save_file({'weight': torch.ones(1, 1), 'bias': torch.zeros(1)}, str(path))
    model = nn.Linear(1, 1)
    load_checkpoint(model, str(path))
    assert model.weight.item() == 1.0
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_bytes_is_narrowed_to_empty_bytes(tmp_path):
    """Empty numpy arrays pickle ``bytes()``; ``bytes(n)`` stays refused."""
    import numpy as np
    path = tmp_path / 'empty.pth'
    torch.save({'meta': {'links': np.zeros((0, 2), dtype=np.int64)}}, path)
    assert load_checkpoint_file(str(path))['meta']['links'].shape == (0, 2)

    class _Alloc:

        def __reduce__(self):
            return (bytes, (1 << 20, ))

    path = tmp_path / 'alloc.pth'
    torch.save({'x': _Alloc()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'bytes\(1048576,\)'):
        load_checkpoint_file(str(path))
