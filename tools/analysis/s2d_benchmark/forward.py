"""Sections ``machine``, ``forward``, ``flops`` and ``landmark_cache``.

- ``machine``: the fp32 GEMM rate measured now, in this process (1 MAC = 2
  FLOPs), on a square product and on the ViT MLP's shape (``T*(N+1)``
  tokens x ``D`` x ``4D``): the yardstick of "fraction of the machine".
- ``forward``: clips/s of the test forward (landmark branch, backbone,
  head) on one view, fp32 and (``--bf16``) bf16 autocast, this project vs
  the reference, the two alternating run by run with a GEMM-rate sample
  before every fp32 run; the reference's logits must match (fp32, 1e-4)
  and bf16 stay within 2e-2 of fp32. Options: ``--compile`` (the backbone
  under ``torch.compile``; a benchmark option, no config turns it on) and
  ``--plain-vit`` (mmpretrain's plain ViT on the same frames).
- ``flops``: MACs per clip (mmengine's counter plus fused attention) and
  the fp32 forward's FLOP rate as a fraction of the GEMM rate, overall
  and paired with the sample taken right before each run.
- ``landmark_cache``: the landmark network on one clip vs reading its
  features from :class:`~s2d_benchmark.landmark_cache.LandmarkFeatureCache`
  (a benchmark figure: no shipped config turns the cache on).
"""
import copy
import tempfile
import time

import torch

from s2d_mm.models.utils.complexity import count_macs
from s2d_mm.utils.machine import matmul_rate

from .models import autocast, clip_batch, view_logits
from .report import fmt_macs, fmt_stats
from .timing import time_fn, time_interleaved


def gemm_shapes(setup, tiny: bool):
    """``(m, k, n)`` of the rate probe: a square product and the MLP's."""
    d, t, s = setup['dims'], setup['frames'], setup['img']
    patch = setup['model']['backbone'].get('patch_size', 16)
    tokens = t * ((s // patch)**2 + 1)
    big = 512 if tiny else 2048
    return [(big, big, big), (tokens, d, 4 * d)]


def gemm_probe(setup, device):
    """A quick GEMM-rate sample (GFLOP/s, best of both shapes, 2 runs)."""
    shapes = gemm_shapes(setup, setup['dims'] < 256)

    def probe():
        return matmul_rate(shapes, device=device, warmup=1,
                           repeats=2)['gflops']

    return probe


def bench_machine(bench):
    a = bench.args
    rate = matmul_rate(
        gemm_shapes(bench.setup, a.tiny),
        device=bench.device,
        warmup=a.warmup + 1,
        repeats=max(a.repeats, 5))
    bench.res['matmul_fp32'] = rate
    for s in rate['per_shape']:
        bench.row(f'fp32 GEMM {s["shape"]}', f'{s["gflops"]:.1f} GFLOP/s',
                  f'+-{100 * s["spread"]:.0f}%')
    bench.row('machine fp32 matmul rate (best)', f'{rate["gflops"]:.1f} GFLOP/s',
              f'{torch.get_num_threads()} threads, measured in this run')


def bench_forward(bench):
    a, device, setup = bench.args, bench.device, bench.setup
    x = clip_batch(setup, 1, 1, device)
    out, logits = {}, {}
    precisions = [('fp32', None)]
    if a.bf16:
        precisions.append(('bf16', torch.bfloat16))
    with torch.no_grad():
        for prec, dtype in precisions:
            fns = {}
            for name, model in (('fast', bench.fast),
                                ('reference', bench.ref)):

                def run(model=model, dtype=dtype):
                    with autocast(device, dtype):
                        return view_logits(model, x)

                logits[(name, prec)] = run().float()
                fns[name] = run
            # fast and reference alternate run by run, and in fp32 a GEMM
            # rate sample precedes every run: load changes of a shared CPU
            # hit both paths and the yardstick alike
            stats, probes = time_interleaved(
                fns, warmup=a.warmup, repeats=a.repeats, device=device,
                probe=gemm_probe(setup, device) if prec == 'fp32' else None)
            for name in fns:
                out[f'{name}_{prec}'] = stats[name].to_dict()
                if probes[name]:
                    out[f'{name}_{prec}_gemm_probe_gflops'] = probes[name]
                bench.row(f'forward {name} {prec}',
                          fmt_stats(stats[name], unit=' clips/s'),
                          f'{stats[name].median:.3f} s/clip')
        if a.compile:
            _time_compiled(bench, x, out)
        if a.plain_vit:
            _time_plain_vit(bench, x, out)
    diff = (logits[('fast', 'fp32')] - logits[('reference', 'fp32')]).abs()
    out['max_abs_diff_fast_vs_ref_fp32'] = float(diff.max())
    out['same_argmax_fast_vs_ref'] = bool(
        (logits[('fast', 'fp32')].argmax(-1) ==
         logits[('reference', 'fp32')].argmax(-1)).all())
    bench.row('logits fast vs reference (fp32)', f'{float(diff.max()):.2e}',
              'max abs diff, target <= 1e-4')
    r = out['reference_fp32']['median'] / out['fast_fp32']['median']
    out['speedup_fp32'] = r
    bench.row('forward speed-up fast/reference fp32', f'{r:.2f}x')
    if a.bf16:
        bdiff = (logits[('fast', 'bf16')] -
                 logits[('fast', 'fp32')]).abs().max()
        out['max_abs_diff_bf16_vs_fp32'] = float(bdiff)
        out['bf16_speedup'] = (out['fast_fp32']['median'] /
                               out['fast_bf16']['median'])
        bench.row('bf16 speed-up over fp32 (fast)',
                  f'{out["bf16_speedup"]:.2f}x',
                  f'logits max abs diff {float(bdiff):.2e} (target 2e-2)')
        r = out['reference_bf16']['median'] / out['fast_bf16']['median']
        out['speedup_bf16'] = r
        bench.row('forward speed-up fast/reference bf16', f'{r:.2f}x')
    bench.res['forward'] = out


def _time_compiled(bench, x, out):
    """``--compile``: the backbone of a copy under ``torch.compile``."""
    a = bench.args
    compiled = copy.deepcopy(bench.fast)
    compiled.backbone = torch.compile(compiled.backbone)

    def run():
        return view_logits(compiled, x)

    t0 = time.perf_counter()
    run()
    out['compile_s'] = time.perf_counter() - t0
    stats = time_fn(run, warmup=a.warmup, repeats=a.repeats,
                    device=bench.device)
    out['fast_fp32_compiled'] = stats.to_dict()
    bench.row('forward fast fp32 torch.compile',
              fmt_stats(stats, unit=' clips/s'),
              f'compile {out["compile_s"]:.0f} s (benchmark option)')


def _time_plain_vit(bench, x, out):
    """``--plain-vit``: mmpretrain's ViT of the same arch on the frames."""
    from mmpretrain.models import VisionTransformer

    from s2d_mm.models.backbones import S2DViT
    a, bb = bench.args, bench.setup['model']['backbone']
    arch = bb.get('arch', 'vit-base')
    if isinstance(arch, str):  # S2D's names, e.g. 'vit-base'
        arch = dict(S2DViT.arch_zoo[arch.lower()])
    vit = VisionTransformer(arch=arch, img_size=bench.setup['img'],
                            patch_size=bb.get('patch_size', 16))
    vit.to(bench.device).eval()  # mmpretrain's train() returns None
    frames = x.flatten(0, 1).transpose(1, 2).flatten(0, 1)
    stats = time_fn(lambda: vit(frames), warmup=a.warmup,
                    repeats=a.repeats, device=bench.device)
    out['plain_vit_fp32'] = stats.to_dict()
    bench.row('forward plain mmpretrain ViT fp32',
              fmt_stats(stats, unit=' clips/s'),
              'same frames, no MCP/TMA/landmarks')


def bench_flops(bench):
    fast, res = bench.fast, bench.res
    x = clip_batch(bench.setup, 1, 1, bench.device)
    with torch.no_grad():
        info = count_macs(fast, (x, ), fn=lambda inp: view_logits(fast, inp))
    macs = info['macs']
    # what mmengine's stock handles count: everything but fused attention
    stock = macs - sum(v for k, v in info['by_operator'].items()
                       if 'scaled_dot_product_attention' in k)
    out = dict(macs=macs, macs_without_sdpa_handle=stock,
               by_module=info['by_module'], skipped_ops=info['skipped_ops'])
    bench.row('MACs per clip (mmengine + fused attention)',
              fmt_macs(macs), f'= {2 * macs / 1e9:.3g} GFLOP')
    bench.row('MACs per clip (stock mmengine handles)',
              fmt_macs(stock), 'misses fused attention')
    lm = sum(v for k, v in info['by_module'].items() if 'landmark' in k)
    if not lm and getattr(fast.backbone, 'landmark', None) is not None:
        lm = count_macs(fast.backbone.landmark,
                        (x[0, 0].transpose(0, 1), ))['macs']
    out['landmark_macs'] = lm
    if lm:
        bench.row('  of which landmark network', fmt_macs(lm))
    fwd = res.get('forward', {})
    rate = res.get('matmul_fp32', {}).get('gflops')
    if fwd.get('fast_fp32') and rate:
        for name in ('fast', 'reference'):
            t = fwd[f'{name}_fp32']
            achieved = 2 * macs / t['median'] / 1e9
            out[f'{name}_achieved_gflops_fp32'] = achieved
            out[f'{name}_fraction_of_matmul_rate'] = achieved / rate
            bench.row(f'{name} fp32 forward rate', f'{achieved:.1f} GFLOP/s',
                      f'{100 * achieved / rate:.0f}% of the GEMM rate of the '
                      'machine section' +
                      (' (target >= 80%)' if name == 'fast' else ''))
    for name in ('fast', 'reference'):
        t = fwd.get(f'{name}_fp32')
        probes = fwd.get(f'{name}_fp32_gemm_probe_gflops')
        if not (t and probes):
            continue
        fracs = sorted(2 * macs / s / 1e9 / g
                       for s, g in zip(t['times'], probes))
        frac = fracs[len(fracs) // 2]
        out[f'{name}_fraction_paired'] = frac
        bench.row(f'{name} fp32 forward / GEMM rate, paired',
                  f'{100 * frac:.0f}%',
                  'median over runs of rate / GEMM sample taken just before')
    res['flops'] = out


def bench_landmark_cache(bench):
    from .landmark_cache import LandmarkFeatureCache
    a = bench.args
    lm = bench.fast.backbone.landmark
    if lm is None:
        return
    frames = clip_batch(bench.setup, 1, 1, bench.device)[0, 0].transpose(0, 1)
    keys = [f'bench/{i:05d}' for i in range(frames.shape[0])]
    out = {}
    with torch.no_grad():
        net = time_fn(lambda: lm(frames), warmup=a.warmup, repeats=a.repeats,
                      device=bench.device)
        with tempfile.TemporaryDirectory(dir=bench.workdir) as tmp:
            cache = LandmarkFeatureCache(tmp, lm)
            cache.get_or_compute(keys, frames)  # computed and written
            read = time_fn(lambda: cache.get_or_compute(keys, frames),
                           warmup=a.warmup, repeats=a.repeats)
            diff = (cache.get_or_compute(keys, frames) - lm(frames)).abs()
    out['network'] = net.to_dict()
    out['cache_read'] = read.to_dict()
    out['max_abs_diff_read_vs_network'] = float(diff.max())
    bench.row('landmark net, one clip', fmt_stats(net, unit=' clips/s'),
              f'{frames.shape[0]} frames')
    bench.row('landmark cache read, one clip',
              fmt_stats(read, unit=' clips/s'),
              f'{net.median / read.median:.1f}x faster than the network '
              '(benchmark option, no config turns it on)')
    bench.res['landmark_cache'] = out
