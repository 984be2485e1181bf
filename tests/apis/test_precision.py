"""s2d_mm.apis.precision: bf16 refused where not native, auto says what it
picked, int8 agrees with fp32 on a tiny model; ONNX export equals PyTorch."""
import copy

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from s2d_testing.tiny import make_tiny_s2d

from demo import DFEW_CLASSES, render_clip
from s2d_mm.apis import auto_precision as AP
from s2d_mm.apis import inference_video, init_model
from s2d_mm.apis import precision as P

# ISA flag sets of the machines users run on (kernel spellings)
AVX2_ONLY = frozenset({'sse4_2', 'avx', 'avx2', 'fma'})
AVX512_NO_BF16 = AVX2_ONLY | {'avx512f', 'avx512bw', 'avx512vl'}
AVX512_VNNI_BF16 = AVX512_NO_BF16 | {'avx512_vnni', 'avx512_bf16'}
NO_AVX2 = frozenset({'sse4_2', 'avx'})


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    cfg, ckpt = make_tiny_s2d(str(tmp_path_factory.mktemp('tiny_prec')))
    return cfg, ckpt, init_model(cfg, ckpt, device='cpu')


def clips(n=24, size=32, frames=6):
    """Synthetic faces and structured noise (the benchmark's kinds)."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([7, i])
        if i % 2 == 0:
            out.append(render_clip(DFEW_CLASSES[i // 2 % 7], rng, frames,
                                   (size, size))['frames'])
            continue
        low = rng.uniform(0, 255, (frames, 4, 4, 3))
        out.append([np.clip(cv2.resize(f, (size, size)) +
                            rng.normal(0, 8, (size, size, 3)), 0,
                            255).astype(np.uint8) for f in low])
    return out


def probs_of(model, cs):
    return np.stack([inference_video(model, c, detect=False)['probs']
                     for c in cs])


def with_flags(monkeypatch, flags):
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: flags)


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    # auto's decisions go to a folder of the test, never the user's cache
    monkeypatch.setenv('S2D_CACHE_DIR', str(tmp_path / 'cache'))


@pytest.fixture
def rules_only(monkeypatch):
    monkeypatch.setenv('S2D_AUTO_MEASURE', '0')


# ------------------------------------------------------------------- bf16
def test_bf16_refused_without_native_support(monkeypatch, tiny):
    cfg, ckpt, model = tiny
    for flags in (AVX2_ONLY, AVX512_NO_BF16):
        with_flags(monkeypatch, flags)
        ok, why = P.native_bf16('cpu')
        assert not ok and 'emulated' in why
        with pytest.raises(P.PrecisionNotSupportedError,
                           match='bf16 refused on cpu.*neither AVX512_BF16 '
                           'nor AMX-BF16.*emulated'):
            P.check_precision('bf16', 'cpu')
        with pytest.raises(P.PrecisionNotSupportedError, match='bf16'):
            P.apply_precision(model, 'bf16', copy_model=True)
        with pytest.raises(P.PrecisionNotSupportedError, match='bf16'):
            init_model(cfg, ckpt, precision='bf16')
    assert not hasattr(model, 'inference_precision')  # left untouched


def test_bf16_allowed_with_avx512_bf16_or_amx(monkeypatch):
    for extra in ({'avx512_bf16'}, {'amx_tile', 'amx_bf16'}):
        with_flags(monkeypatch, AVX512_NO_BF16 | extra)
        ok, why = P.native_bf16('cpu')
        assert ok and next(iter(extra - {'amx_tile'})).upper() in why
        assert P.check_precision('bf16', 'cpu').mode == 'bf16'


@pytest.mark.skipif(not P.native_bf16('cpu')[0],
                    reason='this CPU has no native bf16')
def test_bf16_runs_the_backbone_in_bf16_and_scores_in_fp32(tiny):
    _, _, model = tiny
    m = P.apply_precision(model, 'bf16', copy_model=True)
    seen = []
    hook = m.backbone.layers[0].attn.qkv.register_forward_hook(
        lambda mod, i, o: seen.append(o.dtype))
    cs = clips(6)
    p, p0 = probs_of(m, cs), probs_of(model, cs)
    hook.remove()
    assert seen and all(d == torch.bfloat16 for d in seen)
    assert np.abs(p - p0).max() < 0.02
    # weights converted once (no per-call casts), the head stays float32
    assert {t.dtype for t in m.backbone.parameters()} == {torch.bfloat16}
    assert {t.dtype for t in m.cls_head.parameters()} == {torch.float32}
    convs = [c for c in m.backbone.landmark.modules()
             if isinstance(c, nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(
        memory_format=torch.channels_last) for c in convs)
    assert {t.dtype for t in model.backbone.parameters()} == {torch.float32}
    copy.deepcopy(m)  # the bound forward survives copying


# ------------------------------------------------------------------- auto
@pytest.mark.parametrize('flags,mode,words', [
    (AVX512_VNNI_BF16, 'int8', 'AVX512_VNNI'),
    (AVX512_VNNI_BF16 | {'amx_tile', 'amx_bf16'}, 'bf16', 'AMX-BF16'),
    (AVX2_ONLY, 'int8', 'AVX2'),
    (NO_AVX2 | {'avx512_bf16'}, 'bf16', 'AVX512_BF16'),
    (NO_AVX2, 'fp32', 'no int8'),
])
def test_auto_reports_what_it_picked(monkeypatch, tiny, flags, mode, words):
    with_flags(monkeypatch, flags)
    choice = P.choose_auto('cpu')
    assert (choice.mode, choice.requested) == (mode, 'auto')
    assert words in choice.reason
    assert str(choice).startswith(f'{mode} (picked by auto: ')


def test_auto_keeps_a_small_model_in_fp32(monkeypatch, tiny):
    _, _, model = tiny
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    macs = P.linear_macs_estimate(model)
    assert 0 < macs < P.AUTO_MIN_LINEAR_MACS
    m = P.apply_precision(model, 'auto', copy_model=True)
    assert m.inference_precision.mode == 'fp32'
    assert 'small model' in m.inference_precision.reason
    assert P.choose_auto('cpu').mode == 'int8'  # no model: the ISA rule


def test_linear_macs_estimate_counts_every_token(tiny):
    _, _, model = tiny
    bb = model.backbone
    tokens = bb.num_frames * (bb.patch_resolution[0] *
                              bb.patch_resolution[1] + 1)
    per_token = sum(m.in_features * m.out_features
                    for n, m in bb.named_modules()
                    if isinstance(m, nn.Linear) and 'landmark.' not in n)
    assert P.linear_macs_estimate(model) == per_token * tokens


def test_auto_on_a_model(monkeypatch, tiny, rules_only):
    _, _, model = tiny
    with_flags(monkeypatch, AVX2_ONLY)
    monkeypatch.setattr(P, 'AUTO_MIN_LINEAR_MACS', 0)
    m = P.apply_precision(model, 'auto', copy_model=True)
    assert m.inference_precision.mode == 'int8'
    assert m.inference_precision.requested == 'auto'
    assert 'Linear layers int8' in m.inference_precision.detail
    res = inference_video(m, clips(1)[0], detect=False)
    assert res['precision'] == 'int8'


class FakeTimer:
    """``timer(mode, fn)`` of the measurement: runs ``fn`` and says the
    seconds given for the mode; records which modes it timed."""

    def __init__(self, seconds):
        self.seconds, self.calls = seconds, []

    def __call__(self, mode, fn):
        fn()
        self.calls.append(mode)
        return self.seconds[mode]


@pytest.fixture
def measured(monkeypatch, tiny):
    """The tiny model counted as big enough to measure, and a fake clock."""
    monkeypatch.setattr(P, 'AUTO_MIN_LINEAR_MACS', 0)

    def use(seconds):
        timer = FakeTimer(seconds)
        monkeypatch.setattr(AP, '_wall_time', timer)
        return timer
    return tiny[2], use


@pytest.mark.parametrize('seconds,mode', [
    (dict(fp32=1.0, bf16=0.3, int8=0.5), 'bf16'),
    (dict(fp32=1.0, bf16=0.6, int8=0.5), 'int8'),
    (dict(fp32=0.4, bf16=0.6, int8=0.5), 'fp32'),
])
def test_auto_picks_the_fastest_measured_mode(monkeypatch, measured,
                                              seconds, mode):
    model, use = measured
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    timer = use(seconds)
    m = P.apply_precision(model, 'auto', copy_model=True)
    choice = m.inference_precision
    assert (choice.mode, choice.requested) == (mode, 'auto')
    assert 'fastest of the native modes fp32/bf16/int8' in choice.reason
    # one untimed run each, then 3 timed runs, modes interleaved
    assert timer.calls == ['fp32', 'bf16', 'int8'] * 3
    rows = {r['mode']: r for r in choice.table}
    assert rows[mode]['seconds'] == seconds[mode]
    assert all(r['agrees'] for r in rows.values())
    assert rows['fp32']['max_dprob'] == 0
    text = choice.explain()
    assert f'{mode:6s} {seconds[mode]:7.3f}' in text
    assert text.splitlines()[-3:][[r['mode'] for r in choice.table]
                                  .index(mode)].endswith('<- picked')


def test_auto_never_picks_a_mode_that_disagrees(monkeypatch, measured):
    model, use = measured
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    use(dict(fp32=1.0, bf16=0.3, int8=0.5))
    # no difference allowed: the narrow modes disagree, fp32 stays
    monkeypatch.setattr(AP, 'AGREEMENT_MAX_DPROB', 0.0)
    choice = P.choose_auto('cpu', model=model)
    assert choice.mode == 'fp32'
    assert [r['agrees'] for r in choice.table] == [True, False, False]


def test_auto_never_measures_an_emulated_mode(monkeypatch, measured):
    model, use = measured
    with_flags(monkeypatch, AVX2_ONLY)  # bf16 would be emulated
    assert P.native_modes('cpu') == ['fp32', 'int8']
    timer = use(dict(fp32=1.0, bf16=0.01, int8=0.5))
    choice = P.choose_auto('cpu', model=model)
    assert choice.mode == 'int8'
    assert 'bf16' not in timer.calls
    with_flags(monkeypatch, NO_AVX2)
    assert P.native_modes('cpu') == ['fp32']


def test_auto_decision_is_cached_per_device_model_and_torch(
        monkeypatch, measured, tmp_path):
    model, use = measured
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    timer = use(dict(fp32=1.0, bf16=0.3, int8=0.5))
    first = P.choose_auto('cpu', model=model)
    assert len(timer.calls) == 9
    assert (tmp_path / 'cache' / 'auto_precision.json').is_file()
    # the same device, model and torch: read back, nothing measured
    timer = use(dict(fp32=1.0, bf16=0.9, int8=0.5))
    again = P.choose_auto('cpu', model=model)
    assert timer.calls == []
    assert again.mode == first.mode == 'bf16'
    assert 'stored in' in again.reason and again.table == first.table
    # another CPU kind, another model, another torch: measured again
    with_flags(monkeypatch, AVX512_VNNI_BF16 | {'amx_tile', 'amx_bf16'})
    assert P.choose_auto('cpu', model=model).mode == 'int8'
    assert len(timer.calls) == 9
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    other = copy.deepcopy(model)
    other.cls_head.fc_cls = nn.Linear(other.cls_head.fc_cls.in_features, 5)
    assert AP.model_signature(other) != AP.model_signature(model)
    timer = use(dict(fp32=1.0, bf16=0.9, int8=0.5))
    assert P.choose_auto('cpu', model=other).mode == 'int8'
    assert len(timer.calls) == 9
    monkeypatch.setattr(torch, '__version__', '0.0.0-other')
    timer = use(dict(fp32=0.5, bf16=0.9, int8=0.6))
    assert P.choose_auto('cpu', model=model).mode == 'fp32'
    assert len(timer.calls) == 9
    # the weights' values do not change the key
    same_shape = copy.deepcopy(model)
    with torch.no_grad():
        next(same_shape.parameters()).add_(1.0)
    assert AP.model_signature(same_shape) == AP.model_signature(model)


@pytest.mark.parametrize('how', ['env', 'argument'])
def test_auto_measuring_off_falls_back_to_the_rules(monkeypatch, measured,
                                                    how):
    model, use = measured
    with_flags(monkeypatch, AVX512_VNNI_BF16)
    timer = use(dict(fp32=1.0, bf16=0.3, int8=0.5))
    if how == 'env':
        monkeypatch.setenv('S2D_AUTO_MEASURE', '0')
        choice = P.choose_auto('cpu', model=model)
    else:
        choice = P.choose_auto('cpu', model=model, measure=False)
    assert choice.mode == 'int8' and choice.table is None
    assert 'AVX512_VNNI' in choice.reason
    assert timer.calls == []


def test_int8_refused_off_x86_engine(monkeypatch):
    with_flags(monkeypatch, NO_AVX2)
    with pytest.raises(P.PrecisionNotSupportedError, match='no AVX2'):
        P.check_precision('int8', 'cpu')
    with_flags(monkeypatch, AVX2_ONLY)
    monkeypatch.setattr(torch.backends.quantized, 'engine', 'qnnpack')
    with pytest.raises(P.PrecisionNotSupportedError,
                       match="engine is 'qnnpack'"):
        P.check_precision('int8', 'cpu')


def test_unknown_precision():
    with pytest.raises(ValueError, match='precision must be one of'):
        P.check_precision('fp16', 'cpu')


# ------------------------------------------------------------------- int8
def test_int8_quantizes_the_big_linears_and_keeps_the_skipped(tiny):
    _, _, model = tiny
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    m = P.apply_precision(model, 'int8', copy_model=True)
    mods = dict(m.named_modules())
    # mmpretrain's FFN layers are mmcv Linear subclasses: converted too
    assert isinstance(mods['backbone.layers.0.ffn.layers.0.0'],
                      DynamicLinear)
    assert isinstance(mods['backbone.layers.1.attn.qkv'], DynamicLinear)
    assert isinstance(mods['backbone.prompters.0.tma.temporal.fc_down'],
                      DynamicLinear)
    for name in ('cls_head.fc_cls', 'backbone.landmark_embed',
                 'backbone.prompters.1.proj_image'):
        assert type(mods[name]) is nn.Linear, name
    # the landmark network (convolutions) is untouched
    assert not any(isinstance(x, DynamicLinear)
                   for x in m.backbone.landmark.modules())
    assert isinstance(dict(model.named_modules())[
        'backbone.layers.0.attn.qkv'], nn.Linear)  # original unchanged


def test_int8_agrees_with_fp32_on_a_tiny_model(tiny):
    """Bound: max |dprob| <= 0.01 and the same top-1 on every clip (the
    tiny random model measured 0.002 on these clips; the benchmark's
    guard asks 0.02 / 99 % on >= 100 clips)."""
    _, _, model = tiny
    m = P.apply_precision(model, 'int8', copy_model=True)
    cs = clips()
    p, p0 = probs_of(m, cs), probs_of(model, cs)
    assert np.abs(p - p0).max() <= 0.01
    assert (p.argmax(1) == p0.argmax(1)).all()
    assert np.abs(p - p0).max() > 0  # it did run quantized


def test_prepared_model_is_not_prepared_twice(tiny):
    _, _, model = tiny
    m = P.apply_precision(model, 'int8', copy_model=True)
    assert P.apply_precision(m, 'int8') is m
    with pytest.raises(RuntimeError, match='already prepared for int8'):
        P.apply_precision(m, 'fp32')


# ------------------------------------------------------------------- onnx
@pytest.fixture(scope='module')
def exported(tiny, tmp_path_factory):
    from s2d_mm.apis.onnx_model import export_onnx
    _, _, model = tiny
    path = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    return export_onnx(model, path, classes=DFEW_CLASSES)


def test_onnx_export_equals_pytorch(tiny, exported):
    from s2d_mm.apis.onnx_model import OnnxRuntimeLogits, RecognizerLogits
    _, _, model = tiny
    assert exported['max_abs_diff'] <= 1e-4
    meta = exported['metadata']
    assert meta['num_frames'] == model.backbone.num_frames
    assert meta['classes'] == list(DFEW_CLASSES)
    session = OnnxRuntimeLogits(exported['path'])
    assert session.metadata['weights_sha1'] == meta['weights_sha1']
    wrapper = RecognizerLogits(model).eval()
    for n in (1, 3):  # the batch axis is dynamic
        x = torch.randn(n, 3, meta['num_frames'], *meta['img_size'])
        with torch.no_grad():
            ref = wrapper(x)
        out = session(x)
        assert out.shape == ref.shape
        assert float((out - ref).abs().max()) <= 1e-4


def test_onnx_precision_gives_the_fp32_scores(tiny, exported):
    cfg, ckpt, model = tiny
    m = init_model(cfg, ckpt, precision='onnx', onnx_file=exported['path'])
    assert m.inference_precision.mode == 'onnx'
    assert 'ONNX Runtime' in m.inference_precision.detail
    cs = clips(4)
    p, p0 = probs_of(m, cs), probs_of(model, cs)
    assert np.abs(p - p0).max() <= 1e-5
    assert inference_video(m, cs[0], detect=False)['precision'] == 'onnx'


def test_onnx_file_of_other_weights_is_refused(tiny, exported):
    _, _, model = tiny
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.cls_head.fc_cls.bias.add_(1.)
    with pytest.raises(ValueError, match='not exported from these weights'):
        P.apply_precision(other, 'onnx', onnx_file=exported['path'])


def test_export_refuses_a_quantized_model(tiny, tmp_path):
    from s2d_mm.apis.onnx_model import export_onnx
    _, _, model = tiny
    m = P.apply_precision(model, 'int8', copy_model=True)
    with pytest.raises(ValueError, match='prepared for int8'):
        export_onnx(m, str(tmp_path / 'x.onnx'))


def test_bf16_not_native_when_onednn_is_held_below_it(monkeypatch):
    # the kernel grid of the tests holds oneDNN to AVX2 on bf16 CPUs: bf16
    # would be emulated there, so it must not count as native
    from s2d_mm.apis.precision import native_bf16
    flags = frozenset({'avx2', 'avx512f', 'avx512_bf16'})
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    assert native_bf16('cpu', flags)[0]
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
    ok, why = native_bf16('cpu', flags)
    assert not ok and 'ONEDNN_MAX_CPU_ISA=AVX2' in why
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX512_CORE_AMX')
    assert native_bf16('cpu', flags)[0]


def test_matmul_attention_is_scaled_dot_product_attention():
    """The CPU bf16 path's attention (two GEMMs) computes what
    ``F.scaled_dot_product_attention`` does, and ``cast_bf16`` installs it
    on the ViT blocks' attention; masks are refused, not ignored."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=g) for _ in range(3))
    torch.testing.assert_close(P.matmul_attention(q, k, v),
                               F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(
        P.matmul_attention(q, k, v, scale=0.5),
        F.scaled_dot_product_attention(q, k, v, scale=0.5))
    with pytest.raises(ValueError, match='no mask'):
        P.matmul_attention(q, k, v, attn_mask=torch.ones(7, 7))
    with pytest.raises(ValueError, match='no mask'):
        P.matmul_attention(q, k, v, is_causal=True)
    from mmpretrain.models.utils import MultiheadAttention
    model = P.cast_bf16(nn.Sequential(MultiheadAttention(16, 2)))
    assert model[0].scaled_dot_product_attention is P.matmul_attention
