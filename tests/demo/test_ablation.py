"""The demo ablation (``python -m demo.run_ablation``): splits, label noise,
variant configs, the landmark-off branch, the table and the chart."""
import json
import os.path as osp
from collections import Counter

import numpy as np
import pytest
import torch

from demo import DFEW_CLASSES, ablation, generate_dataset
from demo.expressions import EXPRESSIONS


def _rows(n_per_class=10, base=1):
    return [(f'{k:05d}', k % 7 + base) for k in range(7 * n_per_class)]


def test_tune_split_is_stratified_disjoint_and_seeded():
    rows = _rows(10)
    train, tune = ablation.carve_tune_split(rows, ratio=0.2, seed=0)
    assert sorted(train + tune) == sorted(rows)
    assert not {n for n, _ in train} & {n for n, _ in tune}
    assert Counter(lab for _, lab in tune) == {c: 2 for c in range(1, 8)}
    assert ablation.carve_tune_split(rows, 0.2, 0) == (train, tune)
    assert ablation.carve_tune_split(rows, 0.2, 1)[1] != tune


def test_tune_split_rejects_a_class_with_one_clip():
    with pytest.raises(ValueError, match=r'class 9 has 1 clip\(s\)'):
        ablation.carve_tune_split(_rows(3) + [('only', 9)], 0.2)


@pytest.mark.parametrize('base', [0, 1])
def test_flip_labels_flips_exactly_a_fifth_to_other_classes(base):
    rows = _rows(20, base)  # 140 rows
    noisy, flipped = ablation.flip_labels(rows, 0.2, 7, seed=3,
                                          label_base=base)
    changed = [i for i, (a, b) in enumerate(zip(rows, noisy)) if a != b]
    assert len(flipped) == 28 and changed == flipped
    assert [n for n, _ in noisy] == [n for n, _ in rows]
    assert all(base <= lab < base + 7 for _, lab in noisy)
    # seeded: the same seed gives the same noise, another seed other noise
    assert ablation.flip_labels(rows, 0.2, 7, 3, base) == (noisy, flipped)
    assert ablation.flip_labels(rows, 0.2, 7, 4, base)[1] != flipped
    # the new label is drawn from the six other classes, each possible
    big = _rows(1000, base)
    noisy_big, idx = ablation.flip_labels(big, 0.2, 7, seed=0,
                                          label_base=base)
    shifts = Counter((noisy_big[i][1] - big[i][1]) % 7 for i in idx)
    assert set(shifts) == set(range(1, 7))
    assert min(shifts.values()) > 0.7 * len(idx) / 6


def _flat(d, prefix=''):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f'{prefix}{k}.'))
    elif isinstance(d, (list, tuple)) and d and all(
            isinstance(x, dict) for x in d):
        for i, v in enumerate(d):
            out.update(_flat(v, f'{prefix}{i}.'))
    else:
        out[prefix[:-1]] = d
    return out


def _cfg(variant, **kw):
    return ablation.variant_config(variant, 'DATA', 'LM.pth', 'IMG.pth',
                                   'splits/train.csv', 'splits/tune.csv',
                                   epochs=6, seed=2, **kw)


def test_variant_configs_differ_only_where_intended():
    base = _flat(_cfg('s2d').to_dict())
    expected = {
        's2d_order': {'model.backbone.tma.frame_offset_bias',
                      'model.backbone.tma.linear_init'},
        'no_te': {'model.backbone.trainable'},
        'image_avg': {'model.backbone.trainable'},
        'no_landmark': {'model.backbone.landmark'},
        'no_sdl': {'model.cls_head.loss_sdl', 'custom_hooks'},
    }
    for variant, keys in expected.items():
        flat = _flat(_cfg(variant).to_dict())
        diff = {k for k in set(base) | set(flat)
                if base.get(k, '<absent>') != flat.get(k, '<absent>')}
        roots = {k if any(k == e for e in keys) else next(
            (e for e in keys if k.startswith(e + '.')), k) for k in diff}
        assert roots == keys, variant


def test_variant_config_splits_and_trainable_parts():
    cfg = _cfg('s2d')
    assert cfg.train_dataloader.dataset.ann_file == osp.abspath(
        'splits/train.csv')
    assert 'val_split' not in cfg.train_dataloader.dataset
    assert cfg.val_dataloader.dataset.ann_file == osp.abspath(
        'splits/tune.csv')
    # the test split of the data, scored once after training
    assert cfg.test_dataloader.dataset.ann_file == 'train_set_{fold}.csv'\
        .replace('train', 'test')
    assert cfg.train_cfg.val_interval == cfg.train_cfg.max_epochs == 6
    assert cfg.model.backbone.tma_init == 'zero'
    assert cfg.randomness.seed == 2

    import re
    def trains(variant, name):  # noqa: E306
        pats = _cfg(variant).model.backbone.trainable
        return any(re.search(p, name) for p in pats)
    tma = 'prompters.1.tma.temporal.fc_up.weight'
    assert trains('s2d', tma) and trains('s2d', 'temporal_embedding')
    assert trains('no_te', tma) and not trains('no_te', 'temporal_embedding')
    assert not trains('image_avg', tma)
    assert not trains('image_avg', 'temporal_embedding')
    for v in ('s2d', 'no_te', 'image_avg'):
        assert trains(v, 'prompters.1.proj_out.weight')
        assert trains(v, 'ln1.weight')
        assert not trains(v, 'layers.0.attn.qkv.weight')
    with pytest.raises(KeyError, match='unknown variant'):
        _cfg('nope')


def test_reverse_motion_pair_swaps_order_and_label():
    t = ablation.ReverseMotionPair(pair=[4, 6], prob=1.0)
    out = t(dict(label=4, frame_inds=np.arange(0, 16, 2)))
    assert out['label'] == 6 and out['frame_inds'].tolist() == list(
        range(14, -1, -2))
    assert t(dict(label=6, frame_inds=np.arange(3)))['label'] == 4
    # other classes pass untouched
    out = t(dict(label=0, frame_inds=np.arange(3)))
    assert out['label'] == 0 and out['frame_inds'].tolist() == [0, 1, 2]
    np.random.seed(0)
    half = ablation.ReverseMotionPair(pair=[4, 6], prob=0.5)
    labels = [half(dict(label=4, frame_inds=np.arange(2)))['label']
              for _ in range(400)]
    assert 150 < labels.count(6) < 250
    with pytest.raises(ValueError, match='two different labels'):
        ablation.ReverseMotionPair(pair=[4, 4])
    cfg = _cfg('s2d', reverse_pair=True)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types.index('ReverseMotionPair') == \
        types.index('SampleFrames') + 1
    assert 'ReverseMotionPair' not in [
        t['type'] for t in cfg.test_dataloader.dataset.pipeline]


def test_zero_landmark_features_in_an_s2d_backbone():
    from s2d_mm.models.backbones import S2DViT
    branch = ablation.ZeroLandmarkFeatures(channels=6, grid_size=(2, 2))
    out = branch(torch.rand(3, 3, 8, 8))
    assert out.shape == (3, 6, 2, 2) and not out.any()
    torch.manual_seed(0)
    vit = S2DViT(arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                           feedforward_channels=32), img_size=8,
                 patch_size=4, num_frames=2, landmark_channels=6,
                 landmark=dict(type='ZeroLandmarkFeatures', channels=6,
                               grid_size=(2, 2)),
                 tma=dict(ratio=0.5, num_heads=2))
    x = torch.rand(1, 3, 2, 8, 8)
    feat = vit(x)[0]
    assert feat.shape == (1, 16, 2)
    # the landmark projection sees only zeros: its weight gets no gradient
    feat.sum().backward()
    assert not vit.landmark_embed.weight.grad.any()
    assert vit.landmark_embed.bias.grad.abs().sum() > 0


def test_geometry_variant_differs_from_the_demo_in_one_class(tmp_path):
    diff = {c for c in DFEW_CLASSES
            if ablation.GEOMETRY_EXPRESSIONS[c] != EXPRESSIONS[c]}
    assert diff == {ablation.GEOMETRY_PAIR[1]}
    a, b = (ablation.GEOMETRY_EXPRESSIONS[c] for c in ablation.GEOMETRY_PAIR)
    # the pair shares every action of the first class and its dynamics
    assert a[1] == b[1] and all(b[0][k] == v for k, v in a[0].items())
    meta = generate_dataset(str(tmp_path), clips_per_class=2, num_frames=2,
                            img_size=32, stills_per_class=0, progress=False,
                            expressions=ablation.GEOMETRY_EXPRESSIONS)
    assert meta['expressions']['Disgust']['actions'] == b[0]
    assert meta['expressions']['Happy']['actions'] == EXPRESSIONS['Happy'][0]


def _fake_runs():
    runs = []
    for seed, (s2d, img, sdl, nosdl) in enumerate([(80, 50, 70, 60),
                                                    (90, 55, 72, 71)]):
        def m(uar, pair):
            return dict(UAR=uar, WAR=uar + 1, motion_pair=pair,
                        geometry_pair=pair - 5)
        runs += [
            dict(comparison='temporal', variant='s2d', seed=seed,
                 test=m(85, s2d)),
            dict(comparison='temporal', variant='image_avg', seed=seed,
                 test=m(80, img)),
            dict(comparison='sdl', variant='s2d', seed=seed,
                 test=m(sdl, 50)),
            dict(comparison='sdl', variant='no_sdl', seed=seed,
                 test=m(nosdl, 50)),
        ]
    return runs


def test_summary_targets_table_and_chart(tmp_path):
    runs = _fake_runs()
    summary = ablation.summarize(runs)
    s = summary['temporal']['s2d']['motion_pair']
    assert s == dict(mean=85.0, min=80.0, max=90.0, values=[80.0, 90.0])
    targets = {(t['comparison'], t['better']): t
               for t in ablation.check_targets(runs)}
    # TMAs vs none on the pair: +30, +35 -> met; SDL: +10, +1 -> not met
    t = targets[('temporal', 's2d')]
    assert t['diffs'] == [30.0, 35.0] and t['met'] and t['seeds'] == [0, 1]
    t = targets[('sdl', 's2d')]
    assert t['diffs'] == [10.0, 1.0] and not t['met']
    # variants that did not run have no target line
    assert ('temporal', 's2d_order') not in targets
    assert not any(t['comparison'] == 'landmark' for t in targets.values())

    table = ablation.markdown_table(summary, list(targets.values()))
    assert '| S2D (TMAs + temporal embedding) | 2 | 85.0 | 86.0 | ' \
        '85.0 [80-90] |  |' in table
    assert 'Surprise/Fear recall: +30.0, +35.0 points' in table
    assert '**met**' in table and '**not met**' in table
    assert 'SDL under 20 % label noise' in table

    stem = str(tmp_path / 'out' / 'ablation')
    js, md = ablation.write_results(stem, dict(runs=runs), table)
    assert json.load(open(js))['runs'][0]['variant'] == 's2d'
    assert open(md).read() == table
    png = ablation.plot_bars(summary, stem + '.png', subtitle='fake')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.getsize(png) > 5000


def test_cli_prepares_splits_noise_and_the_variant(tmp_path):
    from demo import run_ablation as cli
    data = str(tmp_path / 'demo_data')
    generate_dataset(data, clips_per_class=6, num_frames=2, img_size=32,
                     stills_per_class=0, progress=False)
    work = str(tmp_path / 'work')
    out = cli.prepare_data(work, data, ['temporal', 'landmark', 'sdl'],
                           [0, 1])
    train = ablation.read_rows(out['demo']['train'])
    tune = ablation.read_rows(out['demo']['tune'])
    assert len(train) + len(tune) == len(
        ablation.read_rows(osp.join(data, 'train_set_1.csv')))
    assert out['demo']['root'] == data
    for seed in (0, 1):
        noisy = ablation.read_rows(out['noisy'][seed])
        assert [n for n, _ in noisy] == [n for n, _ in train]
        assert sum(a != b for a, b in zip(noisy, train)) == \
            round(0.2 * len(train)) == out['flipped'][seed]
    geo = json.load(open(osp.join(out['geometry']['root'], 'meta.json')))
    assert geo['expressions']['Disgust']['actions'] == \
        ablation.GEOMETRY_EXPRESSIONS['Disgust'][0]
    assert geo['num_frames'] == 2 and geo['num_stills'] == 0
    # as many training clips as the demo data, 40 test clips a class
    assert geo['num_train'] == 7 * 4 and geo['num_test'] == 7 * 40
    assert out['geometry']['test_root'] == out['geometry']['root']
    # the demo comparison's test clips: rendered apart, other faces
    test = json.load(open(osp.join(out['demo']['test_root'], 'meta.json')))
    assert test['num_train'] == 0 and test['num_test'] == 7 * 40
    assert test['seed'] == 0 + ablation.RENDER_SEED_OFFSET
    assert out['demo']['test'] == osp.join(out['demo']['test_root'],
                                           'test_set_1.csv')
    # the same demo data: the variant is reused, not rendered again
    mtime = osp.getmtime(osp.join(out['geometry']['root'], 'meta.json'))
    cli.prepare_data(work, data, ['landmark'], [0])
    assert osp.getmtime(osp.join(out['geometry']['root'],
                                 'meta.json')) == mtime
    plan = cli.plan_runs(['temporal', 'sdl'], [0, 1])
    assert len(plan) == 12 and plan[0] == ('temporal', 's2d', 0)
    assert plan[-1] == ('sdl', 'no_sdl', 1)
    assert np.all([p[2] in (0, 1) for p in plan])
