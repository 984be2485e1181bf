"""tools/eval_release.py: a checkpoint in the release's key layout and a
generated DFEW tree -> UAR / WAR, with the refusals it owes the user.

The release config (configs/s2d_dfew_release.py) is used as shipped, with
the tests' tiny S2D put in place of ViT-B (a derived config) and the
frame count and size set through its top-level variables.
"""
import argparse
import json
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmpose.registry import MODELS as POSE_MODELS
from s2d_testing import load_script, tiny_landmark_net, tiny_model_cfg
from s2d_testing.fake_data import make_fake_dfew
from s2d_testing.release_layout import to_release

import s2d_mm  # noqa: F401
from s2d_mm.engine import load_experiment_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = tiny_model_cfg(sdl=False)['backbone']
D = TINY['arch']['embed_dims']
SIZE, FRAMES = TINY['img_size'], TINY['num_frames']

TINY_RELEASE_CFG = '''
_base_ = [{release!r}]
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **{arch!r}), img_size={size},
        patch_size={patch},
        landmark_channels={lm_channels}, tma={tma!r},
        landmark=dict(model=dict(_delete_=True, **{lm_model!r}),
                      input_size=({size}, {size}), grid_size={grid!r})),
    cls_head=dict(in_channels={d}))
'''
# the pipelines' and the model's frame count and size: config variables
SIZES = [f'num_frames={FRAMES}', f'clip_len={FRAMES}', f'img_size={SIZE}']


@pytest.fixture(scope='module')
def tiny_release(tmp_path_factory):
    """(config, landmark checkpoint, make_checkpoint) for a tiny S2D run
    under the DFEW release config."""
    root = tmp_path_factory.mktemp('eval_release')
    cfg_path = root / 'tiny_dfew_release.py'
    cfg_path.write_text(TINY_RELEASE_CFG.format(
        release=osp.join(REPO, 'configs', 's2d_dfew_release.py'),
        arch=TINY['arch'], size=SIZE, patch=TINY['patch_size'],
        lm_channels=TINY['landmark_channels'], tma=TINY['tma'],
        lm_model=tiny_landmark_net(), grid=TINY['landmark']['grid_size'],
        d=D))
    with DefaultScope.overwrite_default_scope('mmpose'):
        landmark = POSE_MODELS.build(tiny_landmark_net())
    lm_ckpt = root / 'landmark.pth'
    torch.save({'state_dict': landmark.state_dict()}, lm_ckpt)

    def make_checkpoint(path, seed=0, **options):
        """A video checkpoint in the release's layout (what the authors
        published), from the tiny model under the release config."""
        cfg = load_experiment_config(
            str(cfg_path), dict(_options(SIZES), landmark_ckpt=str(lm_ckpt),
                                **options))
        cfg.model.backbone.init_cfg = None
        torch.manual_seed(seed)
        with DefaultScope.overwrite_default_scope('mmaction'):
            model = MODELS.build(cfg.model)
        model.init_weights()
        ours = {k: v for k, v in model.state_dict().items()
                if not k.startswith(('data_preprocessor',
                                     'backbone.landmark.'))}
        torch.save({'model': to_release(ours), 'epoch': 99,
                    'args': argparse.Namespace(nb_classes=7)}, path)
        return ours

    return str(cfg_path), str(lm_ckpt), make_checkpoint


def _options(items):
    out = {}
    for item in items:
        key, value = item.split('=')
        out[key] = int(value)
    return out


def _run(tool, cfg_path, lm_ckpt, ckpt, data_root, out_dir, sha256=None,
         label_base=None):
    extra = (['--sha256', sha256] if sha256 else []) + (
        ['--label-base', label_base] if label_base else [])
    return tool.main([
        ckpt, '--dataset', 'dfew', '--fold', '1', '--data-root', data_root,
        '--config', cfg_path, '--landmark-checkpoint', lm_ckpt,
        '--out-dir', str(out_dir), *extra, '--cfg-options', *SIZES
    ])


def _dfew(root, label_base):
    make_fake_dfew(str(root), num_per_class=1, num_frames=5, size=SIZE,
                   label_base=label_base, test_per_class=2)
    return str(root)


def test_release_checkpoint_to_uar_war(tiny_release, tmp_path, capsys):
    cfg_path, lm_ckpt, make_checkpoint = tiny_release
    ckpt = str(tmp_path / 'DFEW_fold1.pth')
    ours = make_checkpoint(ckpt)
    data = _dfew(tmp_path / 'DFEW', label_base=0)  # the release's copies
    tool = load_script('tools', 'eval_release.py')
    out = tmp_path / 'results' / 'fold1'
    assert _run(tool, cfg_path, lm_ckpt, ckpt, data, out) == 0
    printed = capsys.readouterr().out
    assert '(dfew fold 1, label_base=0)' in printed
    assert 'released (w/o oversampling): UAR 61.56  WAR 76.16' in printed
    record = json.loads((out / 'eval_release.json').read_text())
    assert record['label_base'] == 0 and record['released'] == dict(
        UAR=61.56, WAR=76.16)
    assert f"UAR {record['UAR']:.2f}  WAR {record['WAR']:.2f}" in printed
    matrix = json.loads((out / 'test_confusion_matrix.json').read_text())
    assert sum(map(sum, matrix['confusion_matrix'])) == 14  # 2 test clips x 7 classes
    converted = torch.load(out / 'DFEW_fold1_s2d_mm.pth',
                           weights_only=True)['state_dict']
    assert set(converted) == set(ours)
    for k in ours:
        torch.testing.assert_close(converted[k], ours[k], rtol=0, atol=0)

    # the fold mean tool accepts it: provenance (fold, sample count) checked
    folds = load_script('tools', 'analysis', 'aggregate_folds.py')
    assert folds.main([str(tmp_path / 'results'), '--expect', '1']) == 0
    assert 'unverified' not in capsys.readouterr().err

    # the same scores as tools/test.py with the model's own checkpoint
    own = tmp_path / 'own.pth'
    torch.save({'state_dict': ours}, own)
    test = load_script('tools', 'test.py')
    args = test.parse_args([
        cfg_path, str(own), '--work-dir', str(tmp_path / 'own'),
        '--out-dir', str(tmp_path / 'own'), '--cfg-options', *SIZES,
        f'landmark_ckpt={lm_ckpt}', f'data_root={data}', 'label_base=0',
        'model.backbone.init_cfg=None'
    ])
    from s2d_mm.engine import build_runner
    metrics = build_runner(test.build_config(args)).test()
    assert metrics['UAR'] == pytest.approx(record['UAR'], abs=1e-6)
    assert metrics['WAR'] == pytest.approx(record['WAR'], abs=1e-6)


def test_url_download_is_cached_and_checked(tiny_release, tmp_path,
                                            monkeypatch, capsys):
    cfg_path, lm_ckpt, make_checkpoint = tiny_release
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    src = tmp_path / 'src' / 'DFEW_fold1.pth'
    src.parent.mkdir()
    make_checkpoint(str(src))
    url = 'file://' + str(src)
    cached = tmp_path / 'torch' / 'hub' / 'checkpoints' / 'DFEW_fold1.pth'
    tool = load_script('tools', 'eval_release.py')
    data = _dfew(tmp_path / 'DFEW', label_base=1)  # DFEW's own files
    # a wrong checksum is refused before anything runs
    assert _run(tool, cfg_path, lm_ckpt, url, data, tmp_path / 'bad',
                sha256='0000beef') == 1
    assert 'invalid hash value' in capsys.readouterr().err
    assert not cached.exists()
    # the right one: downloaded into torch hub's cache, evaluated
    digest = tool.file_sha256(str(src))
    assert _run(tool, cfg_path, lm_ckpt, url, data, tmp_path / 'out',
                sha256=digest[:12]) == 0, capsys.readouterr().err
    assert cached.is_file()
    assert '(dfew fold 1, label_base=1)' in capsys.readouterr().out
    # the cached copy is checked again on the next call
    cached.write_bytes(b'changed')
    assert _run(tool, cfg_path, lm_ckpt, url, data, tmp_path / 'out2',
                sha256=digest[:12]) == 1
    assert 'does not match sha256' in capsys.readouterr().err


# -------------------------------------------------------------- refusals
@pytest.fixture
def refusal_case(tiny_release, tmp_path):
    """(run, checkpoint, DFEW root): a release-layout checkpoint and a
    0-based DFEW tree; ``run(ckpt, **options)`` is the tool's exit code."""
    cfg_path, lm_ckpt, make_checkpoint = tiny_release
    ckpt = str(tmp_path / 'v.pth')
    make_checkpoint(ckpt)
    data = _dfew(tmp_path / 'DFEW', label_base=0)
    tool = load_script('tools', 'eval_release.py')

    def run(path=ckpt, **options):
        return _run(tool, cfg_path, lm_ckpt, path, data, tmp_path / 'o',
                    **options)

    return run, ckpt, data


def test_checkpoint_of_another_architecture_is_refused(tiny_release,
                                                      tmp_path, capsys):
    cfg_path, lm_ckpt, make_checkpoint = tiny_release
    ckpt = str(tmp_path / 'eight_frames.pth')
    make_checkpoint(ckpt, num_frames=2 * FRAMES, clip_len=2 * FRAMES)
    data = _dfew(tmp_path / 'DFEW', label_base=0)
    tool = load_script('tools', 'eval_release.py')
    assert _run(tool, cfg_path, lm_ckpt, ckpt, data, tmp_path / 'o') == 1
    err = capsys.readouterr().err
    assert 'another architecture than the config' in err
    assert f'num_frames: checkpoint {2 * FRAMES}, config {FRAMES}' in err
    assert 'temporal_embedding' in err  # the mismatched key, listed


def test_image_stage_checkpoint_is_refused(refusal_case, tmp_path, capsys):
    run, ckpt, _ = refusal_case
    release = torch.load(ckpt, weights_only=False)['model']
    image = {k: v for k, v in release.items()
             if not k.startswith(('temporal_embedding', 'head.')) and
             '.TMA.' not in k}
    image['head.weight'] = torch.zeros(7, D)  # the image classifier
    image['head.bias'] = torch.zeros(7)
    torch.save({'model': image}, tmp_path / 'image.pth')
    assert run(str(tmp_path / 'image.pth')) == 1
    assert "is a 'image' checkpoint, not a released S2D video" in \
        capsys.readouterr().err


def test_label_base_that_does_not_fit_is_refused(refusal_case, capsys):
    run, _, _ = refusal_case
    assert run(label_base='1') == 1
    err = capsys.readouterr().err
    assert 'label base (--label-base 1)' in err
    assert 'test_set_1.csv' in err and 'label_base=1' in err


def test_label_base_that_cannot_be_told_is_refused(refusal_case, capsys):
    """Labels 1..5 only: fit both bases; auto refuses and asks."""
    run, _, data = refusal_case
    ann = osp.join(data, 'EmoLabel_DataSplit', 'test(single-labeled)',
                   'test_set_1.csv')
    with open(ann) as f:
        rows = f.read().splitlines()
    with open(ann, 'w') as f:
        f.write('\n'.join([rows[0]] + [
            f"{r.split(',')[0]},{min(max(int(r.split(',')[1]), 1), 5)}"
            for r in rows[1:]]) + '\n')
    assert run() == 1
    err = capsys.readouterr().err
    assert 'fit both label_base=0 and label_base=1' in err
    assert 'declare it' in err


def test_fold_is_required_for_five_fold_datasets(capsys):
    tool = load_script('tools', 'eval_release.py')
    with pytest.raises(SystemExit):
        tool.parse_args(['x.pth', '--dataset', 'mafw'])
    assert '--fold is required for mafw' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.parse_args(['x.pth', '--dataset', 'ferv39k', '--fold', '2'])
    assert 'one official split' in capsys.readouterr().err
