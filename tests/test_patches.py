"""What ``import s2d_mm`` changes in other libraries, and only that."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import s2d_mm  # noqa: F401
from s2d_mm import patches


def test_both_patches_applied_on_import():
    assert patches.applied('safe_checkpoint_loading')
    assert patches.applied('mmaction_config_lookup')


def test_other_schemes_and_torch_load_untouched():
    for prefix, loader in CheckpointLoader._schemes.items():
        if prefix:
            assert loader.__module__ == 'mmengine.runner.checkpoint', prefix
    assert CheckpointLoader._schemes[''].__module__ == 's2d_mm.patches'
    assert torch.load.__module__ == 'torch.serialization'


def test_restore_puts_mmengine_code_back(tmp_path):
    from mmengine.config import utils as cfg_utils
    patches.restore('mmaction_config_lookup')
    try:
        assert cfg_utils._get_cfg_metainfo.__module__ == \
            'mmengine.config.utils'
        assert not patches.applied('mmaction_config_lookup')
    finally:
        patches.apply_patches()
    assert patches.applied('mmaction_config_lookup')

    patches.restore('safe_checkpoint_loading')
    try:
        assert CheckpointLoader._schemes[''].__module__ == \
            'mmengine.runner.checkpoint'
    finally:
        patches.apply_patches()
    assert patches.applied('safe_checkpoint_loading')
    with pytest.raises(KeyError, match='unknown patch'):
        patches.restore('nope')


def _run(code, **env):
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, env=dict(os.environ, **env))


def test_environment_variable_disables_patches():
    code = ('import s2d_mm; from s2d_mm.patches import applied; '
            "print(applied('safe_checkpoint_loading'), "
            "applied('mmaction_config_lookup'))")
    out = _run(code, S2D_DISABLE_PATCHES='all')
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ['False', 'False']
    out = _run(code, S2D_DISABLE_PATCHES='mmaction_config_lookup')
    assert out.stdout.split()[-2:] == ['True', 'False']
    out = _run('import s2d_mm', S2D_DISABLE_PATCHES='safe_loading')
    assert out.returncode != 0
    assert "unknown patches ['safe_loading']" in out.stderr
