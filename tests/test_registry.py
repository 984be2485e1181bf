"""Where s2d_mm's hooks and samplers are registered: the registries of the
codebases whose runtimes its configs use, through s2d_mm.registry."""
import pytest
from mmaction.registry import DATA_SAMPLERS as ACTION_SAMPLERS
from mmaction.registry import HOOKS as ACTION_HOOKS
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmpose.registry import HOOKS as POSE_HOOKS
from mmpretrain.registry import DATA_SAMPLERS as PRETRAIN_SAMPLERS
from mmpretrain.registry import HOOKS as PRETRAIN_HOOKS

import s2d_mm  # noqa: F401
from s2d_mm.engine import hooks
from s2d_mm.registry import S2D_HOOK_REGISTRIES

HOOK_NAMES = ['EpochSeedHook', 'FrozenBatchNormHook', 'InferencePrecisionHook',
              'SDLScheduleHook', 'StrictLoadHook']


def test_hook_registries_are_the_three_runtimes():
    assert S2D_HOOK_REGISTRIES == (ACTION_HOOKS, PRETRAIN_HOOKS, POSE_HOOKS)


@pytest.mark.parametrize('name', HOOK_NAMES)
def test_every_hook_in_every_runtime_scope_and_only_there(name):
    cls = getattr(hooks, name)
    for registry in S2D_HOOK_REGISTRIES:
        assert registry.get(name) is cls, registry.scope
    # one place each: not also in mmengine's root registry
    assert name not in ROOT_HOOKS.module_dict


def test_class_balanced_sampler_in_both_stages():
    from s2d_mm.datasets.samplers import ClassBalancedSampler
    assert ACTION_SAMPLERS.get('ClassBalancedSampler') is ClassBalancedSampler
    assert PRETRAIN_SAMPLERS.get('ClassBalancedSampler') is \
        ClassBalancedSampler
