"""What machine the code runs on: CPU model, ISA flags, torch's backends.

Every speed figure of this project names the machine it was measured on
(CPU model, the instruction sets that decide which kernels run, the BLAS /
oneDNN builds and the thread count), and the inference precision choice
(:mod:`s2d_mm.apis.precision`) reads the same ISA flags to refuse a
precision that a CPU would only emulate.

On Linux the flags come from ``/proc/cpuinfo`` (the kernel's names, e.g.
``avx512_bf16``, ``amx_bf16``); elsewhere only what torch reports
(``torch.backends.cpu.get_cpu_capability()``) is known.
"""
import os
import platform
import re
import statistics
import time
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Sequence, Tuple

import torch

__all__ = [
    'cpu_model', 'cpu_isa_flags', 'isa_summary', 'torch_backends',
    'describe_machine', 'format_machine', 'matmul_rate', 'KEY_ISA_FLAGS'
]

#: ISA flags that decide which fp32 / bf16 / int8 kernels run, in the
#: kernel's spelling, with the names printed for them.
KEY_ISA_FLAGS = (
    ('avx2', 'AVX2'),
    ('fma', 'FMA'),
    ('avx512f', 'AVX-512'),
    ('avx512_vnni', 'AVX512_VNNI'),
    ('avx_vnni', 'AVX_VNNI'),
    ('avx512_bf16', 'AVX512_BF16'),
    ('amx_tile', 'AMX'),
    ('amx_bf16', 'AMX_BF16'),
    ('amx_int8', 'AMX_INT8'),
)


def _read_cpuinfo() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            return f.read()
    except OSError:
        return ''


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform``)."""
    m = re.search(r'^model name\s*:\s*(.+)$', _read_cpuinfo(), re.M)
    if m:
        return m.group(1).strip()
    return platform.processor() or platform.machine() or 'unknown CPU'


@lru_cache(maxsize=1)
def cpu_isa_flags() -> FrozenSet[str]:
    """The CPU's feature flags, lower case (``'avx2'``, ``'avx512_bf16'``,
    ...). Without ``/proc/cpuinfo``: what torch's own dispatch level
    implies (``'avx2'`` / ``'avx512f'``)."""
    m = re.search(r'^flags\s*:\s*(.+)$', _read_cpuinfo(), re.M)
    if m:
        return frozenset(m.group(1).lower().split())
    cap = torch.backends.cpu.get_cpu_capability().lower()
    flags = set()
    if 'avx2' in cap or 'avx512' in cap:
        flags.add('avx2')
    if 'avx512' in cap:
        flags.add('avx512f')
    return frozenset(flags)


def isa_summary(flags=None) -> Dict[str, bool]:
    """``{'AVX2': True, 'AVX-512': False, ...}`` for :data:`KEY_ISA_FLAGS`."""
    flags = cpu_isa_flags() if flags is None else flags
    return {name: key in flags for key, name in KEY_ISA_FLAGS}


def torch_backends() -> Dict[str, str]:
    """torch's CPU math backends as this build reports them: BLAS, oneDNN
    (MKL-DNN) version, the ATen dispatch level, OpenMP and the threads."""
    config = torch.__config__.show()
    blas = re.search(r'BLAS_INFO=(\w+)', config)
    mkl = re.search(r'Math Kernel Library Version ([\w.]+)', config)
    dnnl = re.search(r'MKL-DNN v([\w.]+)', config)
    out = dict(
        torch=torch.__version__,
        blas=(blas.group(1) if blas else 'unknown') +
        (f' {mkl.group(1)}' if mkl else ''),
        onednn=(f'oneDNN {dnnl.group(1)}' if dnnl else 'absent') +
        ('' if torch.backends.mkldnn.is_available() else ' (unavailable)'),
        aten_capability=torch.backends.cpu.get_cpu_capability(),
        openmp='yes' if torch.backends.openmp.is_available() else 'no',
        quantized_engine=torch.backends.quantized.engine,
        threads=str(torch.get_num_threads()),
        cpu_count=str(os.cpu_count()))
    return out


def describe_machine(device='cpu') -> Dict[str, object]:
    """Everything a speed figure must name, as a dict (JSON-ready)."""
    device = torch.device(device)
    out = dict(
        cpu_model=cpu_model(),
        isa=isa_summary(),
        backends=torch_backends())
    if device.type == 'cuda':
        out['gpu'] = torch.cuda.get_device_name(device)
    return out


def format_machine(info: Dict[str, object]) -> List[str]:
    """Human-readable lines of :func:`describe_machine`'s dict (the machine
    line that the tools print next to every time they report)."""
    isa = info['isa']
    b = info['backends']
    lines = [
        f'CPU: {info["cpu_model"]} ({b["cpu_count"]} logical CPUs)',
        'ISA: ' + ', '.join(f'{k} {"yes" if v else "no"}'
                            for k, v in isa.items()),
        f'torch {b["torch"]}: BLAS {b["blas"]}, {b["onednn"]}, ATen '
        f'{b["aten_capability"]} kernels, OpenMP {b["openmp"]}, quantized '
        f'engine {b["quantized_engine"]}, {b["threads"]} threads',
    ]
    if 'gpu' in info:
        lines.append(f'GPU: {info["gpu"]}')
    return lines


def matmul_rate(shapes: Sequence[Tuple[int, int, int]] = ((2048, 2048,
                                                           2048), ),
                dtype: torch.dtype = torch.float32,
                device='cpu',
                warmup: int = 2,
                repeats: int = 5,
                clock=time.perf_counter) -> Dict[str, Any]:
    """The GEMM rate this machine reaches now, in this process.

    Every speed figure is stated next to it: on a shared or throttled
    machine the rate drops with everything else, so a time means little
    without the rate measured in the same run. For every ``(m, k, n)`` an
    ``(m, k) @ (k, n)`` product is timed ``repeats`` times after ``warmup``
    calls; its rate is ``2 m k n / median`` FLOP/s (one multiply-add = 2
    FLOPs). The machine's rate is the best shape's, so fractions of it are
    conservative. ``clock`` reads the time: the wall clock, or e.g.
    ``time.thread_time`` for the rate of one thread in CPU time (with
    ``torch.set_num_threads(1)``), which a busy machine barely moves.

    Returns:
        dict: ``per_shape`` (list of ``dict(shape, gflops, spread)``, spread
        = (max - min) / median of the repeats) and ``gflops`` (the best
        median rate, GFLOP/s).
    """
    device = torch.device(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    per_shape = []
    gen = torch.Generator(device='cpu').manual_seed(0)
    for m, k, n in shapes:
        a = torch.randn(m, k, generator=gen).to(device=device, dtype=dtype)
        b = torch.randn(k, n, generator=gen).to(device=device, dtype=dtype)
        out = torch.empty(m, n, device=device, dtype=dtype)
        for _ in range(warmup):
            torch.mm(a, b, out=out)
        sync()
        times = []
        for _ in range(max(1, repeats)):
            t0 = clock()
            torch.mm(a, b, out=out)
            sync()
            times.append(clock() - t0)
        median = statistics.median(times)
        per_shape.append(
            dict(shape=(m, k, n), gflops=2. * m * k * n / median / 1e9,
                 spread=(max(times) - min(times)) / median))
        del a, b, out
    return dict(per_shape=per_shape,
                gflops=max(s['gflops'] for s in per_shape))
