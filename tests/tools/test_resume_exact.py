"""Interrupt after epoch 1 and resume == never interrupted."""
import torch

from .conftest import load_tool


def _train(cfg_path, work, name, *extra):
    train = load_tool('train')
    return train.main([
        cfg_path, '--work-dir', str(work), '--deterministic', '--seed', '3',
        *extra, '--cfg-options', f'experiment_name={name}'
    ])


def _metrics(runner):
    hub = runner.message_hub
    return {k: hub.get_scalar(f'val/{k}').current() for k in ('UAR', 'WAR')}


def _assert_same(a, b, what):
    assert a.keys() == b.keys(), what
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), f'{what}: {k} differs'
        elif isinstance(a[k], dict):
            _assert_same(a[k], b[k], f'{what}.{k}')
        else:
            assert a[k] == b[k], f'{what}: {k} differs'


def test_resume_reaches_the_uninterrupted_state(tiny_experiment, tmp_path):
    cfg_path, _ = tiny_experiment
    full = _train(cfg_path, tmp_path / 'full', 'resume_full')
    assert full.epoch == 2

    # same run, stopped after epoch 1 ...
    part = load_tool('train').main([
        cfg_path, '--work-dir', str(tmp_path / 'part'), '--deterministic',
        '--seed', '3', '--cfg-options', 'train_cfg.max_epochs=1',
        'experiment_name=resume_part1'
    ])
    assert part.epoch == 1
    bank_after_1 = part.model.cls_head.loss_sdl.anchor_feats.clone()
    # ... and resumed from its latest checkpoint
    resumed = _train(cfg_path, tmp_path / 'part', 'resume_part2', '--resume')
    assert resumed.epoch == 2

    load = lambda p: torch.load(p, map_location='cpu', weights_only=True)  # noqa
    _assert_same(load(tmp_path / 'full' / 'probe_rank0.pth'),
                 load(tmp_path / 'part' / 'probe_rank0.pth'), 'model')
    _assert_same(load(tmp_path / 'full' / 'probe_optim0.pth'),
                 load(tmp_path / 'part' / 'probe_optim0.pth'), 'optimizer')
    assert _metrics(full) == _metrics(resumed)
    sdl_full = full.model.cls_head.loss_sdl
    sdl_res = resumed.model.cls_head.loss_sdl
    assert sdl_full.weight == sdl_res.weight == 1.0
    # the bank was restored from the checkpoint and refreshed again
    assert not torch.equal(sdl_res.anchor_feats, bank_after_1)
    assert torch.equal(sdl_full.anchor_feats, sdl_res.anchor_feats)
