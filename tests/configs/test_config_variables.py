"""``--cfg-options`` on top-level config variables reaches every use.

The oracle for "every use" is the config file edited by hand: each
module-level assignment of the variable, in every file of the ``_base_``
chain, rewritten in a copy of ``configs/`` and read with plain
``Config.fromfile``. The tools' result must equal it for every top-level
variable of every shipped config.
"""
import ast
import glob
import json
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from s2d_testing import innermost_datasets

from s2d_mm.engine import (
    ConfigOverrideError,
    load_config,
    load_experiment_config,
)
from s2d_mm.engine.config_variables import RUNNER_KEYS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
SHIPPED = sorted(
    p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in p)
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _rel(path):
    return osp.relpath(path, REPO)


def _all_datasets(cfg):
    return [d for key in DATALOADERS for d in innermost_datasets(cfg.get(key))]


# ------------------------------------------------------------ the issue
@pytest.mark.parametrize('config', ['configs/s2d_dfew.py',
                                    'configs/s2d_dfew_heldout.py'])
def test_label_base_reaches_every_dataloader(config):
    cfg = load_experiment_config(config, {'label_base': 0})
    datasets = _all_datasets(cfg)
    assert len(datasets) == (3 if 'heldout' in config else 2)
    assert [d['label_base'] for d in datasets] == [0] * len(datasets)


def test_fold_checkpoints_classes_and_frames_reach_their_uses():
    cfg = load_experiment_config(
        'configs/s2d_mafw_heldout.py', {
            'fold': 4,
            'image_stage_ckpt': '/w/img.pth',
            'landmark_ckpt': '/w/lm.pth',
            'num_classes': 9,
            'num_frames': 8,
            'clip_len': 8
        })
    assert [d['fold'] for d in _all_datasets(cfg)] == [4, 4, 4]
    bb, head = cfg.model.backbone, cfg.model.cls_head
    assert bb.init_cfg.checkpoint == '/w/img.pth'
    assert bb.landmark.checkpoint == '/w/lm.pth'
    assert bb.num_frames == 8
    assert head.num_classes == head.loss_sdl.num_classes == 9
    assert [a.num_classes for a in cfg.model.data_preprocessor.blending.
            augments] == [9, 9]
    clip_lens = [t['clip_len'] for d in _all_datasets(cfg)
                 for t in d['pipeline'] if 'clip_len' in t]
    assert clip_lens and set(clip_lens) == {8}
    assert cfg.work_dir.endswith('fold4')


# ------------------------------------------------- every shipped variable
def _package_base_keys(config):
    """Keys defined by ``mmaction::`` (package) bases of ``config``: the
    hand-edit oracle cannot edit those files, so they are left out."""
    keys = set()
    for base in Config._get_base_files(config):
        if '::' in base:
            path, _ = Config._get_cfg_path(base, config)
            keys |= set(Config.fromfile(path).keys())
    return keys


def _variables(cfg, config):
    """The config's own variables: top-level keys the runner does not read,
    whose values are not dicts and not lists of dicts (pipelines)."""
    skip = RUNNER_KEYS | _package_base_keys(config)
    return {
        k: v
        for k, v in cfg.items() if k not in skip and not isinstance(v, dict)
        and not (isinstance(v, (list, tuple)) and any(
            isinstance(x, dict) for x in v))
    }


def _new_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + '_x'
    if value is None:
        return 'set_by_test'
    if isinstance(value, (list, tuple)):
        return type(value)(_new_value(v) for v in value)
    raise AssertionError(f'unexpected variable type {type(value)}')


def _edited_tree(tmp_path, values):
    """A copy of configs/ with every module-level ``name = ...`` statement
    of a name in ``values`` replaced by ``name = value`` (the hand edit
    the overrides stand for)."""
    root = tmp_path / 'configs'
    shutil.copytree(CONFIGS, root)
    for path in glob.glob(str(root / '**' / '*.py'), recursive=True):
        with open(path) as f:
            lines = f.read().split('\n')
        spans = [(s.lineno, s.end_lineno, t.id)
                 for s in ast.parse('\n'.join(lines)).body
                 if isinstance(s, ast.Assign) for t in s.targets
                 if isinstance(t, ast.Name) and t.id in values]
        for first, last, name in reversed(spans):
            lines[first - 1:last] = [f'{name} = {values[name]!r}']
        with open(path, 'w') as f:
            f.write('\n'.join(lines))
    return root


def _text(cfg):
    return json.dumps(cfg.to_dict(), sort_keys=True, default=repr)


@pytest.mark.parametrize('config', SHIPPED, ids=_rel)
def test_every_top_level_variable_reaches_every_use(config, tmp_path):
    """All of a config's variables changed at once: a use that one of them
    failed to reach would differ from the hand-edited files."""
    variables = _variables(Config.fromfile(config), config)
    if not variables:  # all of them from mmaction2's own config
        assert _package_base_keys(config)
        return
    values = {k: _new_value(v) for k, v in variables.items()}
    ours = load_config(config, values)
    tree = _edited_tree(tmp_path, values)
    edited = Config.fromfile(str(tree / osp.relpath(config, CONFIGS)))
    assert {k: ours[k] for k in values} == values
    # {{ fileDirname }} paths point into the copy
    assert _text(ours) == _text(edited).replace(str(tree), CONFIGS)


def test_the_oracle_sees_the_uses(tmp_path):
    """The hand edit changes the datasets: plain merging does not."""
    config = osp.join(CONFIGS, 's2d_dfew.py')
    tree = _edited_tree(tmp_path, {'label_base': 0})
    edited = Config.fromfile(str(tree / 's2d_dfew.py'))
    assert {d['label_base'] for d in _all_datasets(edited)} == {0}
    merged = Config.fromfile(config)
    merged.merge_from_dict({'label_base': 0})
    assert {d['label_base'] for d in _all_datasets(merged)} == {1}


# -------------------------------------------------------------- refusals
def test_unknown_variable_is_refused_with_a_suggestion():
    with pytest.raises(ConfigOverrideError,
                       match=r"no top-level variable 'lable_base'.*did you "
                       r'mean label_base'):
        load_experiment_config('configs/s2d_dfew.py', {'lable_base': 0})
    # FERV39k has one split: a fold would be a silent no-op
    with pytest.raises(ConfigOverrideError, match="variable 'fold'"):
        load_experiment_config('configs/s2d_ferv39k.py', {'fold': 2})


def test_part_of_a_variable_is_refused():
    with pytest.raises(ConfigOverrideError,
                       match=r"'train_pipeline' is a variable.*reaches none"):
        load_experiment_config('configs/s2d_dfew.py',
                               {'train_pipeline.0.clip_len': 8})


def test_runner_keys_merge_as_in_mmengine():
    cfg = load_experiment_config(
        'configs/s2d_dfew.py', {
            'train_cfg.max_epochs': 3,
            'model.cls_head.loss_sdl': None,
            'experiment_name': 'x'
        })
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.model.cls_head.loss_sdl is None
    assert cfg.experiment_name == 'x'


def test_num_frames_without_clip_len_is_refused():
    with pytest.raises(ConfigOverrideError,
                       match=r'num_frames=8 .* differs from clip_len=16'):
        load_experiment_config('configs/s2d_dfew.py', {'num_frames': 8})


def test_nested_fold_is_refused():
    with pytest.raises(ConfigOverrideError, match='fold=K'):
        load_experiment_config('configs/s2d_dfew.py',
                               {'test_dataloader.dataset.fold': 2})


def test_variable_defined_in_a_branch_is_refused(tmp_path):
    path = tmp_path / 'branch.py'
    path.write_text('if True:\n    fold = 1\nx = dict(fold=fold)\n')
    with pytest.raises(ConfigOverrideError,
                       match=r'fold: .* other than by a plain'):
        load_config(str(path), {'fold': 2})


def test_value_that_is_no_literal_is_refused(tmp_path):
    path = tmp_path / 'c.py'
    path.write_text('fold = 1\n')
    with pytest.raises(ConfigOverrideError, match='Python literal'):
        load_config(str(path), {'fold': object()})


def test_augmented_assignment_and_base_reference(tmp_path):
    (tmp_path / 'base.py').write_text('n = 2\nn += 1\nb = dict(n=n)\n')
    (tmp_path / 'top.py').write_text(
        "_base_ = ['./base.py']\nm = dict(n={{_base_.n}}, twice=2 * "
        '_base_.n)\n')
    cfg = load_config(str(tmp_path / 'top.py'), {'n': 10})
    assert cfg.b == dict(n=10) and cfg.m == dict(n=10, twice=20)
