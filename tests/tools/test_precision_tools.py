"""--precision in tools/test.py and tools/infer.py; tools/deployment/
export_onnx.py writes a model that tools/infer.py runs."""
import pickle

import numpy as np
import pytest
import torch
from s2d_testing.tiny import make_tiny_s2d

from demo import render_clip
from s2d_mm.apis import init_model
from s2d_mm.apis import precision as P

from .conftest import HERE, load_tool

AVX2_ONLY = frozenset({'avx', 'avx2', 'fma'})


@pytest.fixture(scope='module')
def tiny_ckpt(tiny_experiment, tmp_path_factory):
    cfg_path, _ = tiny_experiment
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(HERE)  # the config imports the tools probe
        model = init_model(cfg_path, None)
    path = str(tmp_path_factory.mktemp('prec_ckpt') / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return cfg_path, path


def _scores(dump):
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    return np.stack([np.asarray(s['pred_scores']['item'] if 'pred_scores'
                                in s else s['pred_score']) for s in samples])


def test_test_tool_int8_matches_fp32(tiny_ckpt, tmp_path):
    cfg_path, ckpt = tiny_ckpt
    test = load_tool('test')
    scores = {}
    for prec in ('fp32', 'int8'):
        dump = tmp_path / f'{prec}.pkl'
        test.main([cfg_path, ckpt, '--work-dir', str(tmp_path / prec),
                   '--dump', str(dump), '--precision', prec,
                   '--cfg-options', f'experiment_name=prec_{prec}'])
        scores[prec] = _scores(dump)
    assert scores['int8'].shape == scores['fp32'].shape
    diff = np.abs(scores['int8'] - scores['fp32']).max()
    assert 0 < diff <= 0.01  # it ran quantized, and agrees


def test_test_tool_refuses_emulated_bf16(tiny_ckpt, tmp_path, monkeypatch):
    cfg_path, ckpt = tiny_ckpt
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: AVX2_ONLY)
    test = load_tool('test')
    with pytest.raises(P.PrecisionNotSupportedError,
                       match='bf16 refused.*emulated'):
        test.main([cfg_path, ckpt, '--work-dir', str(tmp_path / 'w'),
                   '--precision', 'bf16', '--cfg-options',
                   'experiment_name=prec_bf16'])


@pytest.fixture(scope='module')
def infer_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('prec_infer')
    cfg, ckpt = make_tiny_s2d(str(root / 'model'))
    import cv2
    frames = root / 'clip'
    frames.mkdir()
    for i, f in enumerate(render_clip('Sad', np.random.default_rng(3), 8,
                                      (48, 48))['frames']):
        cv2.imwrite(str(frames / f'{i:03d}.png'), f)
    return root, cfg, ckpt, str(frames)


def test_infer_auto_says_what_it_picked(infer_setup, capsys, monkeypatch):
    root, cfg, ckpt, frames = infer_setup
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: AVX2_ONLY)
    # the rule for full-size models (the tiny one would stay fp32), without
    # measuring (tests/apis/test_precision.py checks the measured choice)
    monkeypatch.setattr(P, 'AUTO_MIN_LINEAR_MACS', 0)
    monkeypatch.setenv('S2D_AUTO_MEASURE', '0')
    infer = load_tool('infer')
    out = root / 'auto.json'
    assert infer.main([cfg, ckpt, frames, '--no-detect', '--precision',
                       'auto', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'precision: int8 (picked by auto: fbgemm int8 kernels with AVX2)' \
        in printed
    import json
    assert json.load(open(out))['precision'].startswith('int8')


def test_infer_auto_explain_prints_the_measured_table(
        infer_setup, capsys, monkeypatch, tmp_path):
    root, cfg, ckpt, frames = infer_setup
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: AVX2_ONLY)
    monkeypatch.setattr(P, 'AUTO_MIN_LINEAR_MACS', 0)
    monkeypatch.setenv('S2D_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.delenv('S2D_AUTO_MEASURE', raising=False)
    infer = load_tool('infer')
    assert infer.main([cfg, ckpt, frames, '--no-detect', '--precision',
                       'auto', '--explain']) == 0
    printed = capsys.readouterr().out
    assert 'fastest of the native modes fp32/int8' in printed
    assert 'mode    s/clip   vs fp32  top-1 equal  max dprob  agrees' in \
        printed
    rows = [ln for ln in printed.splitlines()
            if ln.startswith(('fp32 ', 'int8 '))]
    assert len(rows) == 2 and sum('<- picked' in r for r in rows) == 1
    assert not any(ln.startswith('bf16 ') for ln in printed.splitlines())


def test_infer_refuses_emulated_bf16(infer_setup, capsys, monkeypatch):
    root, cfg, ckpt, frames = infer_setup
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: AVX2_ONLY)
    infer = load_tool('infer')
    assert infer.main([cfg, ckpt, frames, '--no-detect', '--precision',
                       'bf16']) == 2
    assert 'bf16 refused on cpu' in capsys.readouterr().err


def test_export_onnx_tool_then_infer(infer_setup, capsys):
    root, cfg, ckpt, frames = infer_setup
    onnx_path = str(root / 'tiny.onnx')
    export = load_tool('deployment/export_onnx')
    assert export.main([cfg, ckpt, onnx_path]) == 0
    printed = capsys.readouterr().out
    assert 'ONNX Runtime vs PyTorch: max abs logit difference' in printed
    infer = load_tool('infer')
    outs = {}
    for prec in ('fp32', 'onnx'):
        out = root / f'{prec}.json'
        args = [cfg, ckpt, frames, '--no-detect', '--out', str(out),
                '--precision', prec]
        if prec == 'onnx':
            args += ['--onnx-file', onnx_path]
        assert infer.main(args) == 0
        import json
        outs[prec] = json.load(open(out))['results']['clip']['probs']
    for c, p in outs['fp32'].items():
        assert outs['onnx'][c] == pytest.approx(p, abs=1e-5)
