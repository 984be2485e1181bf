"""Section ``cpu_rate``: the fp32 forward against the GEMM rate on one
thread, in CPU time.

The test forward of both paths on one thread, timed in thread CPU time
(``time.thread_time``), each run preceded by a one-thread GEMM timed the
same way; the rate is ``2 x MACs / time`` over that GEMM's. Time the
thread spends descheduled is not counted, so a shared machine barely moves
this figure (the wall-clock fraction of the ``flops`` section drops with
every other job on the CPUs). Then the share of the time, of the MACs and
the rate of each part (landmark network, patch embedding, ViT attention,
ViT MLP, norms, TMAs, MCP projections), timed by wrapping their forwards.
CPU only.
"""
import re
import time

import torch

from s2d_mm.models.utils.complexity import count_macs
from s2d_mm.utils.machine import matmul_rate

from .forward import gemm_shapes
from .models import layer_macs, view_logits

#: parts of the forward timed by ``cpu_rate`` (module name patterns)
RATE_PARTS = (
    ('landmark network', r'^backbone\.landmark$'),
    ('patch embedding', r'^backbone\.patch_embed$'),
    ('ViT attention', r'^backbone\.layers\.\d+\.attn$'),
    ('ViT MLP', r'^backbone\.layers\.\d+\.ffn$'),
    ('ViT block norms', r'^backbone\.layers\.\d+\.ln[12]$'),
    ('TMAs', r'^backbone\.prompters\.\d+\.tma$'),
    ('MCP projections + prompt norms',
     r'^backbone\.(prompters\.\d+\.proj_\w+|prompt_norms\.\d+)$'),
)


def _sdpa_macs(module, x) -> int:
    """``Q K^T`` and ``A V`` of an mmpretrain MultiheadAttention on ``x``
    ``(B, N, D)``: ``2 B N^2 D`` (not Linear layers, so added apart)."""
    b, n = x.shape[0], x.shape[1]
    return 2 * b * n * n * module.embed_dims


class _PartTimer:
    """Wraps the forwards of the :data:`RATE_PARTS` modules of ``model``:
    ``seconds[part]`` sums their thread CPU time, ``macs[part]`` their
    Linear/Conv MACs (from ``lin``) plus attention's own products."""

    def __init__(self, model, lin):
        self.seconds, self.macs, self.wrapped = {}, {}, []
        self.count_attention = True
        patterns = [(name, re.compile(p)) for name, p in RATE_PARTS]
        for mod_name, m in model.named_modules():
            part = next((n for n, p in patterns if p.search(mod_name)), None)
            if part is None:
                continue
            self.macs[part] = self.macs.get(part, 0) + sum(
                v for k, v in lin.items()
                if k == mod_name or k.startswith(mod_name + '.'))
            self.wrapped.append((m, m.__dict__.get('forward')))
            m.forward = self._timed(m, m.forward, part)

    def _timed(self, m, forward, part):
        def timed(*a, **k):
            t0 = time.thread_time()
            out = forward(*a, **k)
            self.seconds[part] = self.seconds.get(part, 0.) + \
                time.thread_time() - t0
            if part == 'ViT attention' and self.count_attention:
                self.macs[part] += _sdpa_macs(m, a[0])
            return out
        return timed

    def remove(self):
        for m, own in self.wrapped:
            if own is None:
                del m.forward  # the class's forward is back
            else:
                m.forward = own


def bench_cpu_rate(bench):
    if bench.device.type != 'cpu':
        return
    a, setup, fast = bench.args, bench.setup, bench.fast
    shapes = gemm_shapes(setup, a.tiny)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.zeros((1, 1, 3, setup['frames'], setup['img'], setup['img']))
    x.normal_(generator=torch.Generator().manual_seed(0))
    try:
        timer = _PartTimer(fast, layer_macs(fast, x[:, 0], convs=True))
        runs = []
        try:
            with torch.no_grad():
                view_logits(fast, x)  # warm-up, and the attention MACs
                timer.count_attention = False
                for _ in range(max(2, a.repeats)):
                    for name, model in (('fast', fast), ('reference',
                                                         bench.ref)):
                        g = matmul_rate(shapes, warmup=1, repeats=2,
                                        clock=time.thread_time)['gflops']
                        timer.seconds.clear()
                        t0 = time.thread_time()
                        view_logits(model, x)
                        runs.append((name, time.thread_time() - t0, g,
                                     dict(timer.seconds)))
        finally:
            timer.remove()
    finally:
        torch.set_num_threads(threads)
    total_macs = bench.res.get('flops', {}).get('macs')
    if not total_macs:
        with torch.no_grad():
            total_macs = count_macs(fast, (x, ), fn=lambda inp: view_logits(
                fast, inp))['macs']
    out = dict(threads=1, clock='thread CPU time', macs=total_macs, runs={})
    for name in ('fast', 'reference'):
        mine = [r for r in runs if r[0] == name]
        fracs = sorted(2 * total_macs / t / 1e9 / g for _, t, g, _ in mine)
        best = min(mine, key=lambda r: r[1])
        frac = fracs[len(fracs) // 2]
        out['runs'][name] = dict(seconds=[r[1] for r in mine],
                                 gemm_gflops=[r[2] for r in mine],
                                 fraction=frac)
        bench.row(f'{name} fp32 forward / GEMM rate, 1 thread CPU time',
                  f'{100 * frac:.0f}%',
                  f'{best[1]:.2f} s/clip, GEMM {best[2]:.1f} GFLOP/s (1 '
                  'thread)' + (' (target >= 80%)' if name == 'fast' else ''))
    _, t, g, parts = min((r for r in runs if r[0] == 'fast'),
                         key=lambda r: r[1])
    out['parts'] = {}
    for part, _ in RATE_PARTS:
        if part not in parts:
            continue
        sec, macs = parts[part], timer.macs.get(part, 0)
        rate = 2 * macs / sec / 1e9 if sec else 0.
        out['parts'][part] = dict(seconds=sec, macs=macs,
                                  rate_fraction=rate / g)
        bench.row(f'  {part}', f'{100 * sec / t:.1f}% of the time',
                  f'{100 * macs / total_macs:.1f}% of the MACs' +
                  (f', {100 * rate / g:.0f}% of GEMM rate' if macs else ''))
    bench.res['cpu_rate'] = out
