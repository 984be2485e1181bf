"""Every shipped experiment config trains and tests, shrunk to tiny sizes.

Each config is loaded through ``tools/train.py`` and only overridden
(``--cfg-options``-style, applied to the loaded config; the files are never
edited): the ViT becomes 32 wide with 2 blocks on 32x32 inputs, the
landmark network a quarter-width MobileFaceNet, clips 4 frames, data the
generated official layouts, one epoch of 1-3 iterations, then a test run.
"""
import copy
import glob
import os
import os.path as osp

import pytest
from s2d_testing import fake_data, innermost_datasets, load_script, tiny_model_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# experiments under their full (mmaction2-style) names; configs/s2d_*.py
# are short aliases of configs/s2d/*.py (test_aliases_resolve_to_their_long_names)
EXPERIMENTS = sorted(
    glob.glob(osp.join(REPO, 'configs', 's2d', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'image', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'mix', 's2d_*.py')))
ALIASES = sorted(glob.glob(osp.join(REPO, 'configs', 's2d_*.py')))

# every shipped experiment is run with the tests' tiny S2D in place of its
# model's sizes (configs/_base_/models/s2d_tiny.py)
TINY = tiny_model_cfg()['backbone']
D, SIZE, FRAMES = TINY['arch']['embed_dims'], TINY['img_size'], \
    TINY['num_frames']


def _rel(path):
    return osp.relpath(path, REPO)


def test_every_experiment_config_is_covered():
    names = {_rel(p) for p in EXPERIMENTS}
    long = 'configs/s2d/s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e'
    for ds in ('dfew', 'ferv39k', 'mafw'):
        for variant in ('', '-heldout', '-os', '-release', '-release-os'):
            assert f'{long}{variant}_{ds}-rgb.py' in names
    for pre in ('dfew', 'affectnet7'):  # own videos: configs/s2d_custom*.py
        assert (f'configs/s2d/s2d_vit-base-p16_{pre}-pre_1xb8-16x1x1-30e_'
                'custom-rgb.py') in names
    assert len(names & {_rel(p) for p in glob.glob(
        osp.join(REPO, 'configs', 's2d', '*.py'))}) == 17
    assert len([n for n in names if n.startswith('configs/image/')]) == 4
    assert any(n.startswith('configs/mix/') for n in names)


def _alias_target(alias):
    """The one ``_base_`` of a short alias file, and that it holds nothing
    else than comments."""
    with open(alias) as f:
        code = [ln for ln in f.read().splitlines()
                if ln.strip() and not ln.lstrip().startswith('#')]
    assert len(code) == 1 and code[0].startswith("_base_ = ['./s2d/"), code
    return osp.join(REPO, 'configs', code[0].split("'")[1])


def test_aliases_resolve_to_their_long_names():
    from mmengine.config import Config
    assert len(ALIASES) == 17
    targets = set()
    for alias in ALIASES:
        target = _alias_target(alias)
        assert osp.isfile(target), target
        targets.add(target)
        assert Config.fromfile(alias).to_dict() == \
            Config.fromfile(target).to_dict(), _rel(alias)
    assert len(targets) == 17  # one alias per long name


# ----------------------------------------------------------------- data
def _make_data(kind, root):
    """Generated data in the layout the config's dataset base expects;
    returns the data_root to put into the config."""
    if kind == 'DFEWDataset':
        fake_data.make_fake_dfew(root, num_per_class=2, num_frames=6,
                                 size=SIZE, label_base=1)
    elif kind == 'FERV39kDataset':
        fake_data.make_fake_ferv39k(root, num_per_class=2, num_frames=6,
                                    size=SIZE)
    elif kind == 'MAFWDataset':
        fake_data.make_fake_mafw(root, num_per_class=2, num_frames=6,
                                 size=SIZE)
    elif kind == 'RAFDBDataset':
        fake_data.make_fake_rafdb(root, num_per_class=2, size=SIZE)
    elif kind == 'AffectNetDataset':
        fake_data.make_fake_affectnet(root, num_per_class=2, size=SIZE)
    elif kind == 'FERPlusDataset':
        fake_data.make_fake_ferplus(root, size=SIZE)
    elif kind == 'LabelledVideoDataset':  # tools/data/extract_faces.py
        os.makedirs(osp.join(root, 'folds'))
        for part in ('train', 'test'):
            rows = ['path,label,subject']
            for i, name in enumerate(fake_data.DFEW_CLASSES[:4]):
                clip = f'{part}_{i}'
                fake_data.make_frame_folder(osp.join(root, 'frames', clip),
                                            6, i, SIZE)
                rows.append(f'{clip},{name},{part}{i % 2}')
            with open(osp.join(root, 'folds', f'{part}_1.csv'), 'w') as f:
                f.write('\n'.join(rows) + '\n')
    elif kind == 'VideoDataset':  # mmaction2's Kinetics list format
        os.makedirs(root, exist_ok=True)
        lines = []
        for i in range(6):
            name = f'clip{i}.mp4'
            fake_data.make_fake_video(osp.join(root, name), 8, i % 3, SIZE)
            lines.append(f'{name} {i % 3}')
        with open(osp.join(root, 'list.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    else:
        raise AssertionError(f'no fake data generator for {kind}')
    return root


def _shrink_pipeline(pipeline):
    for t in pipeline:
        kind = t.get('type')
        if kind in ('SampleFrames', 'ReleaseSampleFrames'):
            t['clip_len'], t['frame_interval'] = FRAMES, 1
        elif kind == 'Resize' and 'scale' in t:
            w, h = t['scale']
            t['scale'] = (-1 if w == -1 else SIZE, -1 if h == -1 else SIZE)
        elif kind == 'RandomResizedCrop' and 'scale' in t:
            t['scale'] = SIZE  # mmpretrain's
        elif kind == 'ResizeEdge':
            t['scale'] = 36
        elif kind in ('CenterCrop', 'ThreeCrop', 'SpatialCrops'):
            t['crop_size'] = SIZE
        elif kind == 'RandomCrop':
            t['size'] = SIZE
        elif kind == 'RandomRescale':
            t['scale_range'] = (SIZE, 40)
        elif kind == 'ApplyToFrames':
            _shrink_pipeline(t['transforms'])


def _shrink_data(cfg, tmp_path):
    roots = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key, None)
        if loader is None:
            continue
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        for ds in innermost_datasets(loader):
            kind = ds['type']
            if kind not in roots:
                roots[kind] = _make_data(kind, str(tmp_path / kind))
            if kind == 'VideoDataset':
                ds['ann_file'] = osp.join(roots[kind], 'list.txt')
                ds['data_prefix'] = dict(video=roots[kind])
            else:
                ds['data_root'] = roots[kind]
            _shrink_pipeline(ds['pipeline'])
        sampler = loader.get('sampler', {})
        if sampler.get('type') == 'ClassBalancedSampler':
            sampler['num_samples'] = 8  # 2 iterations of 4


def _shrink_model(model):
    bb = model['backbone']
    assert bb['type'] in ('S2DViT', 'ViTMCP'), bb['type']
    bb.update(arch=copy.deepcopy(TINY['arch']), img_size=SIZE,
              patch_size=TINY['patch_size'], landmark_channels=D,
              init_cfg=None)
    bb['landmark'].update(model=copy.deepcopy(TINY['landmark']['model']),
                          checkpoint=None, input_size=SIZE,
                          grid_size=TINY['landmark']['grid_size'],
                          out_indices=(5, ))
    if bb['type'] == 'S2DViT':
        bb.update(num_frames=FRAMES, tma=copy.deepcopy(TINY['tma']))
    head = model.get('cls_head') or model.get('head')
    head['in_channels'] = D
    if head.get('loss_sdl'):
        head['loss_sdl']['feat_dim'] = D


def load_tool(name):
    return load_script('tools', f'{name}.py')


def _tiny_cfg(path, tmp_path):
    train = load_tool('train')
    args = train.parse_args([
        path, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        'train_cfg.max_epochs=1',
        f'experiment_name=cfgtest_{osp.basename(path)[:-3]}'
    ])
    cfg = train.build_config(args)
    cfg.load_from = None  # no released checkpoint here (s2d_custom.py)
    _shrink_model(cfg.model)
    _shrink_data(cfg, tmp_path)
    # SDL active from the first iteration, anchors refreshed every epoch
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'SDLScheduleHook':
            hook.update(milestones=[], values=[1.0], start_epoch=-1,
                        update_freq=1)
    cfg.default_hooks.logger.interval = 1
    # validation is covered by the test run below (same loop type)
    cfg.train_cfg.val_begin = 2
    return cfg, train


@pytest.mark.parametrize('path', EXPERIMENTS, ids=_rel)
def test_config_trains_and_tests(path, tmp_path):
    from mmengine.runner import Runner
    cfg, _ = _tiny_cfg(path, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter >= 1
    model = runner.model
    head = getattr(model, 'cls_head', None) or model.head
    sdl = getattr(head, 'loss_sdl', None)
    if sdl is not None:
        assert sdl.weight == 1.0
        assert int(sdl.anchor_count.sum()) > 0  # the refresh ran
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    # test loop of the same runner (checkpoint loading is covered by
    # tests/tools)
    metrics = runner.test()
    keys = {k.split('/')[-1] for k in metrics}
    assert keys & {'UAR', 'top1', 'top1_acc'}, keys
    if 'UAR' in metrics:
        assert 0 <= metrics['UAR'] <= 100 and 0 <= metrics['WAR'] <= 100


def test_best_checkpoint_rule_waits_for_a_validation_epoch(tmp_path):
    """The video recipe keeps `save_best=['UAR', 'WAR']` for the held-out
    experiments; under the paper protocol (no validation loop) mmengine's
    CheckpointHook never acts on it: a stock Runner given the rule trains,
    writes its epoch checkpoint and no best one."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    path = osp.join(REPO, 'configs', 's2d_dfew.py')
    assert Config.fromfile(path).default_hooks.checkpoint.save_best == [
        'UAR', 'WAR']
    cfg, _ = _tiny_cfg(path, tmp_path)
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    # tools/train.py drops the rule when nothing is validated; put it back
    cfg.default_hooks.checkpoint.update(save_best=['UAR', 'WAR'],
                                        rule='greater')
    Runner.from_cfg(cfg).train()
    written = sorted(os.listdir(tmp_path / 'work'))
    assert 'epoch_1.pth' in written
    assert not [f for f in written if f.startswith('best')], written

    # the held-out experiment validates, and the same rule keeps its best
    held, _ = _tiny_cfg(path.replace('.py', '_heldout.py'), tmp_path / 'h')
    held.train_cfg.val_begin = 1
    Runner.from_cfg(held).train()
    written = sorted(os.listdir(tmp_path / 'h' / 'work'))
    assert 'best_UAR_epoch_1.pth' in written, written
    assert 'best_WAR_epoch_1.pth' in written, written
