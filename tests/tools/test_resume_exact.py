"""Interrupt and resume == never interrupted: main-process loading and the
shipped loader settings (worker processes, persistent workers), in process
and with tools/train.py killed by SIGKILL in the middle of epoch 2."""
import os
import subprocess
import sys

import pytest
import torch

from .conftest import HERE, REPO, load_tool

#: the shipped configs' loader settings, scaled down (8 -> 2 workers)
WORKERS = ('train_dataloader.num_workers=2',
           'train_dataloader.persistent_workers=True')


def _train(cfg_path, work, name, *extra, options=()):
    train = load_tool('train')
    return train.main([
        cfg_path, '--work-dir', str(work), '--deterministic', '--seed', '3',
        *extra, '--cfg-options', f'experiment_name={name}', *options
    ])


def _metrics(runner):
    hub = runner.message_hub
    return {k: hub.get_scalar(f'val/{k}').current() for k in ('UAR', 'WAR')}


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _assert_same(a, b, what):
    assert a.keys() == b.keys(), what
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), f'{what}: {k} differs'
        elif isinstance(a[k], dict):
            _assert_same(a[k], b[k], f'{what}.{k}')
        else:
            assert a[k] == b[k], f'{what}: {k} differs'


def _assert_same_run(work_a, work_b):
    _assert_same(_load(work_a / 'probe_rank0.pth'),
                 _load(work_b / 'probe_rank0.pth'), 'model')
    _assert_same(_load(work_a / 'probe_optim0.pth'),
                 _load(work_b / 'probe_optim0.pth'), 'optimizer')


@pytest.fixture(scope='module')
def uninterrupted(tiny_experiment, tmp_path_factory, test_threads):
    """2 epochs in one go, with and without worker processes."""
    cfg_path, _ = tiny_experiment
    runs = {}
    threads = torch.get_num_threads()
    # module fixtures run before the autouse ones: same thread count and
    # probe hook as the tests themselves
    torch.set_num_threads(test_threads)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(HERE)
        for workers in (False, True):
            work = tmp_path_factory.mktemp(
                'full_workers' if workers else 'full')
            runner = _train(cfg_path, work, f'resume_full_{workers}',
                            options=WORKERS if workers else ())
            assert runner.epoch == 2
            runs[workers] = (work, runner)
    torch.set_num_threads(threads)
    return runs


@pytest.mark.trains
@pytest.mark.parametrize('workers', [False, True],
                         ids=['main_process', 'persistent_workers'])
def test_resume_reaches_the_uninterrupted_state(tiny_experiment, tmp_path,
                                                uninterrupted, workers):
    cfg_path, _ = tiny_experiment
    options = WORKERS if workers else ()
    full_work, full = uninterrupted[workers]

    # same run, stopped after epoch 1 ...
    part = _train(cfg_path, tmp_path / 'part', f'resume_part1_{workers}',
                  options=(*options, 'train_cfg.max_epochs=1'))
    assert part.epoch == 1
    bank_after_1 = part.model.cls_head.loss_sdl.anchor_feats.clone()
    # ... and resumed from its latest checkpoint
    resumed = _train(cfg_path, tmp_path / 'part', f'resume_part2_{workers}',
                     '--resume', options=options)
    assert resumed.epoch == 2

    _assert_same_run(full_work, tmp_path / 'part')
    assert _metrics(full) == _metrics(resumed)
    sdl_full = full.model.cls_head.loss_sdl
    sdl_res = resumed.model.cls_head.loss_sdl
    assert sdl_full.weight == sdl_res.weight == 1.0
    # the bank was restored from the checkpoint and refreshed again
    assert not torch.equal(sdl_res.anchor_feats, bank_after_1)
    assert torch.equal(sdl_full.anchor_feats, sdl_res.anchor_feats)


def test_killed_mid_epoch_then_resumed(tiny_experiment, tmp_path,
                                       uninterrupted, test_threads):
    """tools/train.py as a process, SIGKILL in the middle of epoch 2 (7
    iterations per epoch: killed after the 10th), then --resume: the final
    weights are those of the run that was never interrupted."""
    cfg_path, _ = tiny_experiment
    work = tmp_path / 'killed'
    env = dict(os.environ, OMP_NUM_THREADS=str(test_threads),  # as the tests
               PYTHONPATH=os.pathsep.join(
                   [HERE, REPO, os.environ.get('PYTHONPATH', '')]))

    def train(*args, options=()):
        return subprocess.run(
            [sys.executable, os.path.join(REPO, 'tools', 'train.py'),
             cfg_path, '--work-dir', str(work), '--deterministic', '--seed',
             '3', *args, '--cfg-options', *WORKERS, *options],
            env=env, capture_output=True, text=True, timeout=300)

    killed = train(options=('custom_hooks.1.kill_at_iter=10',
                            'experiment_name=killed'))
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / 'epoch_2.pth').exists()
    assert not (work / 'probe_rank0.pth').exists()
    resumed = train('--resume', options=('experiment_name=killed_resumed', ))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    _assert_same_run(uninterrupted[True][0], work)
