"""Helpers of tools/analysis/benchmark.py: timing, GEMM rate, MACs, memory."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from s2d_benchmark.timing import (
    TimingStats,
    cpu_peak_rss_supported,
    format_bytes,
    time_fn,
)

from s2d_mm.models.utils.complexity import count_macs
from s2d_mm.utils.machine import matmul_rate


def test_time_fn_counts_calls_and_stats():
    calls = []
    stats = time_fn(lambda: calls.append(1), warmup=2, repeats=3)
    assert len(calls) == 5 and stats.n == 3 and len(stats.times) == 3
    assert stats.min <= stats.median <= stats.max
    s = TimingStats(median=2., min=1., max=3., n=3)
    assert s.spread == 1. and s.rate(4) == 2.
    with pytest.raises(ValueError, match='repeats'):
        time_fn(lambda: None, repeats=0)


def test_matmul_rate_reports_best_shape():
    r = matmul_rate([(32, 32, 32), (64, 16, 8)], warmup=1, repeats=2)
    assert len(r['per_shape']) == 2
    assert r['gflops'] == max(s['gflops'] for s in r['per_shape']) > 0


class AttnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 24)

    def forward(self, x):  # x: (B, L, 8)
        q, k, v = self.fc(x).view(x.shape[0], x.shape[1], 3, 2,
                                  4).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v)


def test_count_macs_includes_fused_attention():
    net = AttnNet()
    x = torch.randn(3, 5, 8)
    linear = 3 * 5 * 8 * 24
    attn = 2 * (3 * 2 * 5 * 5 * 4)  # q k^T and a v
    info = count_macs(net, (x, ))
    assert info['macs'] == linear + attn
    assert count_macs(net, (x, ), count_sdpa=False)['macs'] == linear


@pytest.mark.skipif(not cpu_peak_rss_supported(),
                    reason='needs Linux VmHWM / clear_refs')
def test_cpu_peak_memory_sees_a_large_tensor(repo_root):
    # in a fresh process with a fixed mmap threshold, as the benchmark
    # measures: in a test worker, memory freed by earlier tests stays
    # resident and a new tensor would reuse it without growing the RSS
    import os
    import subprocess
    import sys
    child = (
        'import torch\n'
        'from s2d_benchmark.timing import PeakMemory\n'
        "with PeakMemory('cpu') as mem:\n"
        '    t = torch.ones(16 * 2**20)  # 64 MiB, every page touched\n'
        '    del t\n'
        "with PeakMemory('cpu') as small:\n"
        '    torch.ones(16)\n'
        'print(mem.peak, small.peak)\n')
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(2**20),
               PYTHONPATH=os.path.join(repo_root, 'tools', 'analysis'))
    out = subprocess.run([sys.executable, '-c', child], env=env, check=True,
                         capture_output=True, text=True).stdout
    big, small = map(int, out.split()[-2:])
    assert big >= 60 * 2**20
    assert small < big


def test_format_bytes():
    assert format_bytes(1536 * 2**20) == '1.50 GiB'
    assert format_bytes(10) == '10 B'


def test_time_fn_with_probe_pairs_each_run():
    from s2d_benchmark.timing import time_fn_with_probe
    order = []
    stats, probes = time_fn_with_probe(
        lambda: order.append('f'), lambda: order.append('p') or len(order),
        warmup=1, repeats=3)
    assert order == ['f', 'p', 'f', 'p', 'f', 'p', 'f']
    assert probes == [2, 4, 6] and stats.n == 3


def test_time_interleaved_round_robin():
    from s2d_benchmark.timing import time_interleaved
    order = []
    stats, probes = time_interleaved(
        dict(a=lambda: order.append('a'), b=lambda: order.append('b')),
        warmup=1, repeats=2, probe=lambda: order.append('p') or 1.)
    assert order == ['a', 'b', 'p', 'a', 'p', 'b', 'p', 'a', 'p', 'b']
    assert stats['a'].n == stats['b'].n == 2 and probes['a'] == [1., 1.]
