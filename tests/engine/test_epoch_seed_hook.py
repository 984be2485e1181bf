"""EpochSeedHook: every epoch's random streams depend on (seed, epoch) only."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmaction.registry import HOOKS

from s2d_mm.engine import EpochSeedHook


@pytest.fixture(autouse=True)
def _keep_global_rng():
    state = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    yield
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


def _draw():
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def _epoch_draws(hook, seed, epoch):
    # scramble the generators first, as the epochs before would
    random.seed(12345)
    np.random.seed(54321)
    torch.manual_seed(999)
    hook.before_train_epoch(SimpleNamespace(seed=seed, epoch=epoch))
    return _draw()


def test_epoch_streams_depend_on_seed_and_epoch_only():
    hook = HOOKS.build(dict(type='EpochSeedHook'))
    assert isinstance(hook, EpochSeedHook)
    first = _epoch_draws(hook, 7, 3)
    # resuming at epoch 3 replays the same numbers
    assert _epoch_draws(hook, 7, 3) == first
    # another epoch or another base seed draws differently
    assert _epoch_draws(hook, 7, 4) != first
    assert _epoch_draws(hook, 8, 3) != first
    # runner.seed None counts as 0
    assert _epoch_draws(hook, None, 3) == _epoch_draws(hook, 0, 3)
    assert hook.epoch_seed(0, 0) == 1000003
    assert hook.epoch_seed(2**32 - 1, 0) == 1000002  # wraps into uint32
