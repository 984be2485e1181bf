"""SDLScheduleHook: weight and refresh per epoch, found inside a model."""
import logging
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmaction.registry import HOOKS
from mmengine.logging import MessageHub

from s2d_mm.engine import SDLScheduleHook, find_sdl_modules
from s2d_mm.models.losses import EmotionAnchorsSDL


def test_released_weight_schedule_per_epoch():
    hook = HOOKS.build(dict(type='SDLScheduleHook'))
    expect = {0: 0, 19: 0, 20: 0, 21: 0, 29: 0, 30: .01, 49: .01, 50: .1,
              59: .1, 60: .5, 79: .5, 80: 1., 99: 1.}
    for epoch, w in expect.items():
        assert hook.weight_at(epoch) == w, epoch
    refresh = [e for e in range(100) if hook.refresh_at(e)]
    assert refresh == [40, 80]
    # The released FERV39k setting never refreshes in 100 epochs.
    ferv = SDLScheduleHook(update_freq=100)
    assert not any(ferv.refresh_at(e) for e in range(100))


def test_custom_schedule_and_start_epoch():
    hook = SDLScheduleHook(milestones=[2], values=[0.25, 2.0], start_epoch=0,
                           update_freq=1)
    assert [hook.weight_at(e) for e in range(4)] == [0., .25, 2., 2.]
    assert [hook.refresh_at(e) for e in range(3)] == [False, True, True]
    with pytest.raises(ValueError, match='len\\(milestones\\) \\+ 1'):
        SDLScheduleHook(milestones=[1, 2], values=[0., 1.])
    with pytest.raises(ValueError, match='strictly increasing'):
        SDLScheduleHook(milestones=[3, 2], values=[0., 1., 2.])


class _Head(nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=4)


def test_hook_sets_modules_each_epoch():
    model = nn.Sequential(nn.Linear(2, 2), _Head())
    sdl = find_sdl_modules(model)
    assert sdl == [model[1].loss_sdl]
    hook = SDLScheduleHook(milestones=[3], values=[0.1, 1.], start_epoch=1,
                           update_freq=2)
    logger = logging.getLogger('sdl-hook-test')
    runner = SimpleNamespace(model=model, epoch=0, max_epochs=5,
                             logger=logger,
                             message_hub=MessageHub.get_instance('sdl-hook'))
    hook.before_train(runner)
    seen = []
    for epoch in range(5):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        seen.append((sdl[0].weight, sdl[0].refresh))
        hook.after_train_epoch(runner)
        assert sdl[0].refresh is False
    assert seen == [(0., False), (0., False), (0.1, True), (1., False),
                    (1., True)]
    assert runner.message_hub.get_scalar('train/sdl_weight').current() == 1.


class _ListHandler(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_hook_warns_on_never_refreshing_schedule():
    logger = logging.getLogger('sdl-hook-warn')
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        runner = SimpleNamespace(model=_Head(), epoch=0, max_epochs=100,
                                 logger=logger)
        SDLScheduleHook(update_freq=100).before_train(runner)
        assert any('never refreshed' in m for m in handler.messages)
        handler.messages.clear()
        SDLScheduleHook().before_train(
            SimpleNamespace(model=nn.Linear(1, 1), max_epochs=3,
                            logger=logger))
        assert any('no EmotionAnchorsSDL' in m for m in handler.messages)
    finally:
        logger.removeHandler(handler)
