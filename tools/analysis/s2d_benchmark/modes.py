"""Section ``modes``: every native inference mode and ``auto`` on one clip,
against the GEMM rates measured in the same run.

Each mode is prepared by ``apply_precision(model, mode, copy_model=True)``
and runs ``cls_head(backbone(clip))`` on one clip ``(1, 3, T, S, S)``: fp32,
bf16 (weights and activations bf16, :func:`s2d_mm.apis.precision.cast_bf16`),
``bf16-autocast`` (the former bf16 path, backbone under autocast, for
comparison), int8, and ``auto`` as a user gets it: measured afresh (a
temporary cache folder), then timed like the others. The modes alternate
run by run, median of ``--repeats``; each has its largest class-probability
difference to fp32. Modes the CPU only emulates are left out.

GEMM rates (fp32 and bf16, the ViT-B MLP shape ``(T*197, 768) x (768,
3072)`` and 2048^3, best of the two) are measured right before, and the
forward's rate (2 x MACs per clip / time) is given as a share of them.
Printed lines (``<...>`` are figures)::

    modes auto picked <mode>: <s> s/clip, <pct>% slower than the fastest
        agreeing native mode <mode> (<s> s/clip)
    modes bf16 forward: <GFLOP/s> GFLOP/s, <pct>% of the bf16 GEMM rate
        <GFLOP/s> GFLOP/s (same run), max dprob <value>

(each on one line).
``--profile`` adds one ``torch.profiler`` run per bf16 path (self CPU time
per op, top rows) after the timings.
"""
import os
import statistics
import tempfile
import time

import torch

from s2d_mm.apis.onnx_model import RecognizerLogits
from s2d_mm.apis.precision import apply_precision, autocast_bf16, native_modes
from s2d_mm.models.utils.complexity import count_macs
from s2d_mm.utils.machine import matmul_rate

from .models import clip_batch, view_logits


def _gemm(setup, dtype):
    t = setup['frames']
    shapes = ((t * 197, 768, 3072), (2048, 2048, 2048))
    return matmul_rate(shapes, dtype=dtype, warmup=1, repeats=5)


def _autocast_copy(model):
    """The former bf16 path: the backbone under bf16 autocast."""
    import copy
    m = copy.deepcopy(model).eval()
    autocast_bf16(m.backbone, 'cpu')
    return m


def _prepare(model, device, measure_dir):
    """Prepared copies by name; ``auto`` measured into ``measure_dir``."""
    nets = {}
    modes = native_modes(device)
    for mode in modes:
        nets[mode] = apply_precision(model, mode, device, copy_model=True)
    if 'bf16' in modes:
        nets['bf16-autocast'] = _autocast_copy(model)
    old = os.environ.get('S2D_CACHE_DIR')
    os.environ['S2D_CACHE_DIR'] = measure_dir
    try:
        t0 = time.perf_counter()
        auto = apply_precision(model, 'auto', device, copy_model=True,
                               measure=True)
        auto_seconds = time.perf_counter() - t0
    finally:
        if old is None:
            os.environ.pop('S2D_CACHE_DIR')
        else:
            os.environ['S2D_CACHE_DIR'] = old
    nets['auto'] = auto
    return nets, auto.inference_precision, auto_seconds


def bench_modes(bench):
    a, device, setup = bench.args, bench.device, bench.setup
    if device.type != 'cpu':
        bench.row('modes', 'skipped', 'CPU section (tools/analysis/'
                  'gpu_check.py times the GPU)')
        return
    model = bench.fast
    clip = clip_batch(setup, 1, 1, device).flatten(0, 1)
    with torch.no_grad():
        macs = count_macs(model, (clip[None], ),
                          fn=lambda inp: view_logits(model, inp))['macs']
    gemm = {'fp32': _gemm(setup, torch.float32)}
    if 'bf16' in native_modes(device):
        gemm['bf16'] = _gemm(setup, torch.bfloat16)
    for name, rate in gemm.items():
        bench.row(f'{name} GEMM rate (best of MLP shape, 2048^3)',
                  f'{rate["gflops"]:.0f} GFLOP/s', 'measured in this run')
    with tempfile.TemporaryDirectory() as measure_dir:
        nets, choice, auto_seconds = _prepare(model, device, measure_dir)
    bench.report.say('  auto measured in {:.0f} s:\n'.format(auto_seconds) +
              '\n'.join('    ' + ln for ln in choice.explain().splitlines()))
    fns = {k: RecognizerLogits(m).eval() for k, m in nets.items()}
    times = {k: [] for k in fns}
    with torch.no_grad():
        ref = fns['fp32'](clip).float().softmax(-1)
        dprob = {}
        for k, f in fns.items():  # untimed first run, and its answer
            p = f(clip).float().softmax(-1)
            dprob[k] = float((p - ref).abs().max())
            top1 = bool((p.argmax(-1) == ref.argmax(-1)).all())
            dprob[k] = (dprob[k], top1)
        for _ in range(a.repeats):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f(clip)
                times[k].append(time.perf_counter() - t0)
    out = dict(macs=macs, gemm={k: v['gflops'] for k, v in gemm.items()},
               auto_pick=choice.mode, auto_table=choice.table,
               auto_measure_seconds=auto_seconds, modes={})
    fp32 = statistics.median(times['fp32'])
    for k in fns:
        med = statistics.median(times[k])
        gflops = 2 * macs / med / 1e9
        dtype = 'bf16' if k.startswith('bf16') or (
            k == 'auto' and choice.mode == 'bf16') else 'fp32'
        share = gflops / gemm[dtype]['gflops'] if dtype in gemm else None
        out['modes'][k] = dict(seconds=med, times=times[k],
                               max_dprob=dprob[k][0], top1_equal=dprob[k][1],
                               gflops=gflops, share_of_gemm=share)
        bench.row(f'mode {k}' + (f' (= {choice.mode})' if k == 'auto' else
                                 ''),
                  f'{med:.3f} s/clip, {fp32 / med:.2f}x fp32',
                  f'max dprob {dprob[k][0]:.4f}, {gflops:.0f} GFLOP/s' +
                  (f' = {100 * share:.0f}% of {dtype} GEMM' if share else ''))
    agreeing = {k: v for k, v in out['modes'].items()
                if k in native_modes(device) and v['top1_equal']
                and v['max_dprob'] <= 0.01}
    best = min(agreeing, key=lambda k: agreeing[k]['seconds'])
    slower = out['modes']['auto']['seconds'] / agreeing[best]['seconds'] - 1
    out['auto_vs_fastest'] = slower
    bench.report.say(f'modes auto picked {choice.mode}: '
              f'{out["modes"]["auto"]["seconds"]:.3f} s/clip, '
              f'{100 * slower:.1f}% slower than the fastest agreeing native '
              f'mode {best} ({agreeing[best]["seconds"]:.3f} s/clip)')
    if 'bf16' in out['modes']:
        b = out['modes']['bf16']
        bench.report.say(f'modes bf16 forward: {b["gflops"]:.0f} GFLOP/s, '
                  f'{100 * b["share_of_gemm"]:.0f}% of the bf16 GEMM rate '
                  f'{gemm["bf16"]["gflops"]:.0f} GFLOP/s (same run), max '
                  f'dprob {b["max_dprob"]:.4f}')
    if getattr(a, 'profile', False):
        out['profile'] = {k: _profile(k, fns[k], clip, bench)
                          for k in ('bf16', 'bf16-autocast', 'fp32')
                          if k in fns}
    bench.res['modes'] = out


def _profile(name, fn, clip, bench, rows: int = 12):
    """Self CPU time per op of one forward (ms), printed as a table."""
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(clip)
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops) / 1e3
    table = [dict(op=e.key, ms=e.self_cpu_time_total / 1e3, calls=e.count)
             for e in ops[:rows]]
    bench.report.say(f'  profile of {name} ({total:.0f} ms self CPU in all):')
    for r in table:
        bench.report.say(f'    {r["op"]:<52} {r["ms"]:8.1f} ms '
                         f'{100 * r["ms"] / total:4.0f}%  {r["calls"]} calls')
    return dict(total_ms=total, top=table)
