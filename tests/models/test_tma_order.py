"""Can the TMAs learn the order of frames? (``docs/tma_diagnosis.md``)

The released TMA stack learns order where it shows in what each frame
position looks like (intensity rising vs falling); the demo's motion-only
pair (time-reversed sawtooths) needs the options ``frame_offset_bias`` and
``linear_init='xavier'`` with a fan-in scaled head. The probe is
``tools/analysis/tma_order_probe.py`` (real S2DViT, TMAs, temporal embedding
and S2DHead; frozen random blocks) at its smallest; the options themselves
are tested in ``test_tma_options.py``.
"""
import importlib.util
import os.path as osp

import pytest

import s2d_mm  # noqa: F401

SMALL = dict(num_train=64, num_heldout=128)


@pytest.fixture(scope='module')
def probe(repo_root):
    path = osp.join(repo_root, 'tools', 'analysis', 'tma_order_probe.py')
    spec = importlib.util.spec_from_file_location('tma_order_probe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_released_tmas_learn_order_on_the_easy_case(probe):
    # intensity rising vs falling: the classes differ in what each frame
    # position looks like
    r = probe.run_one('ramp', 'release', seed=0, steps=60, **SMALL)
    assert r['train'] >= 0.95 and r['heldout'] >= 0.9, r
    assert r['flips'] >= 0.9, r  # a reversed clip changes class
    # control: without TMAs and temporal embedding the model is blind to
    # order, so reversing a clip never changes its prediction
    c = probe.run_one('ramp', 'no_temporal', seed=0, steps=60, **SMALL)
    assert c['flips'] == 0.0 and c['heldout'] <= 0.65, c


def test_order_options_learn_the_motion_only_pair(probe):
    # time-reversed sawtooths: equal per-frame and pairwise statistics
    r = probe.run_one('sawtooth', 'order_fix', seed=0, steps=150, **SMALL)
    assert r['train'] >= 0.95 and r['heldout'] >= 0.9, r
    assert r['flips'] >= 0.9, r


def test_probe_data_depends_on_order_only(probe):
    saw = probe.make_clips('sawtooth', 400, seed=0)
    y, i = saw['labels'].bool(), saw['intensity']
    # same per-position intensity distribution in both classes ...
    assert (i[y].mean(0) - i[~y].mean(0)).abs().max() < 0.06
    # ... while the sign of the big frame-to-frame jump tells them apart
    d = i.diff(dim=1)
    rises = d.max(1).values > -d.min(1).values
    assert (rises == ~y).float().mean() == 1.0
    with pytest.raises(ValueError, match='unknown task'):
        probe.make_clips('zigzag', 2, seed=0)
