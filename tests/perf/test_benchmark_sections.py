"""One smoke test per module of ``tools/analysis/s2d_benchmark/`` on the tiny
model (``benchmark.py --tiny``): the sections run and give the figures and
lines they promise; values are checked, never wall-clock times."""
import copy
import os.path as osp
import re

import pytest
import torch
from benchmark import DEFAULT_SECTIONS, SECTIONS, parse_args
from mmengine.registry import init_default_scope
from s2d_benchmark import cpu_rate, e2e, forward, long_video, precision, training
from s2d_benchmark.models import (
    DEFAULT_CONFIG,
    Bench,
    build_pair,
    load_setup,
    view_logits,
)
from s2d_benchmark.report import (
    Report,
    auto_line,
    long_video_line,
    parse_lines,
    speedup_line,
)

# far fewer clips and runs than a real run: structure, not statistics
FAST_ARGS = ['--tiny', '--repeats', '1', '--warmup', '0', '--agreement-clips',
             '4', '--no-cpu-time', '--no-train-memory', '--workers', '0',
             '--precisions', 'fp32,int8', '--long-video-minutes', '0.04']


@pytest.fixture(scope='module')
def tiny_pair():
    init_default_scope('mmaction')
    setup = load_setup(tiny=True)
    return setup, build_pair(setup['model'])


@pytest.fixture
def bench(tiny_pair, tmp_path):
    init_default_scope('mmaction')
    setup, (fast, ref) = tiny_pair
    return Bench(parse_args(FAST_ARGS), setup, torch.device('cpu'), fast,
                 ref, Report(), str(tmp_path))


def _keys(cfg):
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            yield k
            yield from _keys(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            yield from _keys(v)


# ----------------------------------------------------------------- models
def test_models_setup_from_the_shipped_config(bench):
    full = load_setup()
    assert full['config'] == DEFAULT_CONFIG
    assert (full['frames'], full['img'], full['dims']) == (16, 224, 768)
    assert full['model']['backbone']['arch'] == 'vit-base'
    # no weights are loaded: no image-stage init, no landmark checkpoint
    assert 'init_cfg' not in full['model']['backbone']
    assert 'checkpoint' not in list(_keys(full['model']))
    assert e2e.test_views(full['test_pipeline']) == '2 clips x 2 crops'
    # the tiny model runs the same pipelines at its own sizes
    tiny = bench.setup
    assert (tiny['frames'], tiny['img']) == (4, 32)
    assert [t['type'] for t in tiny['train_pipeline']] == \
        [t['type'] for t in full['train_pipeline']]
    sample = next(t for t in tiny['test_pipeline']
                  if t['type'] == 'SampleFrames')
    assert sample['clip_len'] == 4 and sample['num_clips'] == 2
    # equal weights, equal logits
    x = torch.randn(2, 1, 3, 4, 32, 32)
    with torch.no_grad():
        lf, lr = view_logits(bench.fast, x), view_logits(bench.ref, x)
    assert lf.shape == (2, 7)
    assert (lf - lr).abs().max() <= 1e-4
    cmd = bench.worker_command('--memory-worker')
    assert cmd[1].endswith(osp.join('tools', 'analysis', 'benchmark.py'))
    assert cmd[2:] == FAST_ARGS + ['--memory-worker']


def test_cli_sections():
    assert list(SECTIONS)[:3] == ['machine', 'forward', 'flops']
    assert 'int8_study' in SECTIONS and 'int8_study' not in DEFAULT_SECTIONS
    with pytest.raises(SystemExit):
        parse_args(['--sections', 'forward,nonsense'])


# ----------------------------------------------------------------- report
def test_report_lines_parse_back(capsys):
    text = '\n'.join([
        'some row',
        auto_line('int8'),
        speedup_line('int8', 2.345, 0.995, 0.01234),
        speedup_line('onnx', 1.5),
        long_video_line(10., 25, 812.4, 1.234),
    ])
    assert text.splitlines()[1:] == [
        'precision auto picked: int8',
        'inference speed-up vs reference (int8): 2.35x, top-1 agreement '
        '99.5%, max dprob 0.0123',
        'inference speed-up vs reference (onnx): 1.50x, top-1 agreement not '
        'measured, max dprob not measured',
        'long video: 10 min at 25 fps, peak RSS 812 MiB, 1.23 s per '
        'video-minute']
    got = parse_lines(text)
    assert got['auto'] == 'int8'
    assert got['speedup']['int8'] == dict(ratio=2.35, agreement_pct=99.5,
                                          max_dprob=0.0123)
    assert got['speedup']['onnx']['agreement_pct'] is None
    assert got['long_video'] == dict(minutes=10., fps=25, peak_rss_mib=812.,
                                     seconds_per_video_minute=1.23)
    r = Report()
    r.row('name', 'value', 'note')
    assert r.table == [dict(name='name', value='value', note='note')]
    assert capsys.readouterr().out.split() == ['name', 'value', 'note']


# ---------------------------------------------------------------- forward
def test_forward_sections(bench):
    for fn in (forward.bench_machine, forward.bench_forward,
               forward.bench_flops, forward.bench_landmark_cache):
        fn(bench)
    res = bench.res
    assert res['matmul_fp32']['gflops'] > 0
    fwd = res['forward']
    assert fwd['max_abs_diff_fast_vs_ref_fp32'] <= 1e-4
    assert fwd['same_argmax_fast_vs_ref']
    assert fwd['max_abs_diff_bf16_vs_fp32'] <= 2e-2
    assert len(fwd['fast_fp32_gemm_probe_gflops']) == 1  # one per timed run
    flops = res['flops']
    # attention is counted on top of what mmengine's stock handles see
    assert flops['macs'] > flops['macs_without_sdpa_handle'] > 0
    assert 0 < flops['landmark_macs'] < flops['macs']
    assert set(flops) >= {'fast_fraction_of_matmul_rate',
                          'fast_fraction_paired'}
    assert res['landmark_cache']['max_abs_diff_read_vs_network'] == 0


# --------------------------------------------------------------- training
def test_training_section(bench):
    before = copy.deepcopy(bench.fast.state_dict())
    training.bench_train(bench)
    out = bench.res['train']
    assert set(out) >= {'fast', 'fast+checkpointing', 'reference',
                        'speedup_vs_reference'}
    assert out['checkpointing_grad_max_abs_diff'] <= 1e-6 < out['grad_max_abs']
    assert 'memory' not in out  # --no-train-memory
    # the section leaves the weights as it found them, in eval mode
    after = bench.fast.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not bench.fast.training
    peaks = training.memory_of_steps(
        bench.fast, *training._inputs(bench.setup, 2, 7, 'cpu'), 'cpu',
        (False, True))
    assert set(peaks) == {'plain', 'checkpointing'}
    assert all(v >= 0 for v in peaks.values())


# -------------------------------------------------------------------- e2e
def test_e2e_sections(bench):
    e2e.bench_e2e(bench)
    out = bench.res['e2e']
    assert out['videos'] == 7  # one per class
    assert out['identical_predictions']
    assert out['score_max_abs_diff'] <= 1e-5
    assert set(out['fast']['metric']) >= {'test/UAR', 'test/WAR'}
    e2e.bench_data(bench)
    assert bench.res['data']['clips_per_s_workers_0'] > 0


# --------------------------------------------------------------- cpu_rate
def test_cpu_rate_section(bench):
    forwards = {m: m.__dict__.get('forward') for m in bench.fast.modules()}
    cpu_rate.bench_cpu_rate(bench)
    out = bench.res['cpu_rate']
    names = [n for n, _ in cpu_rate.RATE_PARTS]
    assert set(out['parts']) <= set(names)
    assert {'landmark network', 'ViT attention', 'ViT MLP', 'TMAs'} <= \
        set(out['parts'])
    assert sum(p['macs'] for p in out['parts'].values()) <= out['macs']
    assert all(0 < r['fraction'] for r in out['runs'].values())
    assert torch.get_num_threads() == 1  # restored (the tests' one thread)
    # every wrapped forward is removed again
    assert {m: m.__dict__.get('forward')
            for m in bench.fast.modules()} == forwards


# -------------------------------------------------------------- precision
def test_precision_sections(bench, capsys):
    precision.bench_precision(bench)
    out = bench.res['precision']
    lines = parse_lines(capsys.readouterr().out)
    assert lines['auto'] == out['auto']['mode'] == 'fp32'  # a tiny model
    assert set(lines['speedup']) == set(out['modes']) == {'fp32', 'int8'}
    assert lines['speedup']['fp32']['agreement_pct'] == 100.
    assert lines['speedup']['fp32']['max_dprob'] == 0.
    int8 = out['modes']['int8']
    assert 0 <= int8['agreement'] <= 1 and 0 <= int8['max_dprob'] <= 0.05
    assert out['fp32_clips']['n'] == 4
    assert re.search(r'\d+ Linear layers int8', out['details']['int8'])
    precision.bench_int8_study(bench)
    groups = bench.res['int8_study']['groups']
    assert set(groups) == {n for n, _ in precision.INT8_GROUPS} | {
        'all Linear layers', 'default (INT8_SKIP kept fp32)'}
    assert groups['all Linear layers']['linear_flop_share'] == 1.
    assert groups['classifier']['layers'] == 1


# ------------------------------------------------------------- long_video
def test_long_video_section(bench, capsys):
    path = osp.join(bench.workdir, 'v.mp4')
    n = long_video.write_long_video(path, 0.04, 25, 32)
    assert n == 60
    precision.attach_cfg(bench.fast, bench.setup)
    r = long_video.run_video(bench.fast, bench.setup, path)
    # only the T sampled frames are decoded
    assert (r['frames'], r['decoded']) == (60, 4)
    assert r['peak_rss_mib'] >= r['rss_before_mib'] > 0
    # the section: a fresh process, the exact line
    long_video.bench_long_video(bench)
    run = bench.res['long_video']['runs'][0.04]
    assert 'error' not in run, run.get('error')
    assert run['decoded'] == 4 and run['generated_frames'] == 60
    assert run['video_growth_mib'] >= 0
    lv = parse_lines(capsys.readouterr().out)['long_video']
    assert lv['minutes'] == 0.04 and lv['fps'] == 25
    assert lv['peak_rss_mib'] == round(run['peak_rss_mib'])


# ------------------------------------------------------------------ modes
def test_modes_section_times_every_native_mode_and_auto(bench, monkeypatch,
                                                        capsys):
    from s2d_benchmark import modes

    from s2d_mm.apis import auto_precision as AP
    from s2d_mm.apis import precision as P
    # the tiny model counted as big enough for auto to measure
    monkeypatch.setattr(P, 'AUTO_MIN_LINEAR_MACS', 0)
    modes.bench_modes(bench)
    out = bench.res['modes']
    native = P.native_modes('cpu')
    expected = set(native) | {'auto'} | (
        {'bf16-autocast'} if 'bf16' in native else set())
    assert set(out['modes']) == expected
    assert out['auto_pick'] in native
    # auto's own table covers exactly the native modes (emulated ones never)
    assert [r['mode'] for r in out['auto_table']] == native
    assert out['modes']['fp32']['max_dprob'] == 0
    for k, m in out['modes'].items():
        assert m['max_dprob'] <= AP.AGREEMENT_MAX_DPROB
        assert m['gflops'] == pytest.approx(2 * out['macs'] / m['seconds']
                                            / 1e9)
    printed = capsys.readouterr().out
    assert re.search(r'modes auto picked (fp32|bf16|int8): [\d.]+ s/clip, '
                     r'-?[\d.]+% slower than the fastest agreeing native '
                     r'mode (fp32|bf16|int8)', printed)
    if 'bf16' in native:
        assert re.search(r'modes bf16 forward: \d+ GFLOP/s, \d+% of the bf16 '
                         r'GEMM rate \d+ GFLOP/s \(same run\)', printed)
