"""Timing and peak-memory helpers for benchmarks.

Used by ``tools/analysis/benchmark.py``; the helpers are small on purpose so
that what each figure measures is easy to check (the GEMM rate is
:func:`s2d_mm.utils.machine.matmul_rate`, MAC counts
:func:`s2d_mm.models.utils.complexity.count_macs`):

- :func:`time_fn`: wall-clock of a callable after warm-up, several
  repetitions, median and spread (device synchronised on CUDA).
- :class:`PeakMemory`: peak memory over a block: CUDA
  ``max_memory_allocated`` (tensor memory of the caching allocator), or on
  CPU the growth of the process's peak resident set size (Linux ``VmHWM``,
  reset through ``/proc/self/clear_refs``), which counts everything the
  process touched, tensors and allocator slack included.
"""
import gc
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

__all__ = [
    'TimingStats', 'time_fn', 'time_fn_with_probe', 'time_interleaved',
    'synchronize', 'PeakMemory', 'cpu_peak_rss_supported', 'format_bytes',
    'read_status_kb', 'malloc_env_for_memory_runs'
]


def synchronize(device: Optional[torch.device] = None) -> None:
    """Wait for queued kernels on CUDA; a no-op on CPU."""
    if device is not None and torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


@dataclass
class TimingStats:
    """Seconds per call over ``n`` timed repetitions.

    ``spread`` is ``(max - min) / median``, the relative range of the
    repetitions (0.05 = the slowest run took 5 % of the median longer than
    the fastest).
    """
    median: float
    min: float
    max: float
    n: int
    times: List[float] = field(default_factory=list)

    @classmethod
    def from_times(cls, times: List[float]) -> 'TimingStats':
        return cls(
            median=statistics.median(times),
            min=min(times),
            max=max(times),
            n=len(times),
            times=times)

    @property
    def spread(self) -> float:
        return (self.max - self.min) / self.median if self.median else 0.

    def rate(self, items: float = 1.) -> float:
        """Items per second at the median time."""
        return items / self.median if self.median else float('inf')

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d['spread'] = self.spread
        return d


def time_fn(fn: Callable[[], Any],
            warmup: int = 1,
            repeats: int = 3,
            device: Optional[torch.device] = None) -> TimingStats:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Args:
        fn: The callable (closes over its inputs).
        warmup: Calls before timing (allocator, autotuning, lazy init).
        repeats: Timed calls (>= 1).
        device: Synchronised before and after every timed call (CUDA).

    Returns:
        TimingStats: seconds per call.
    """
    stats, _ = time_interleaved({'fn': fn}, warmup, repeats, device)
    return stats['fn']


def time_fn_with_probe(fn: Callable[[], Any],
                       probe: Callable[[], float],
                       warmup: int = 1,
                       repeats: int = 3,
                       device: Optional[torch.device] = None
                       ) -> Tuple[TimingStats, List[float]]:
    """:func:`time_fn` that calls ``probe()`` (e.g. a GEMM-rate
    measurement) right before every timed call, so that each timing has a
    yardstick taken under the same machine load (useful on shared CPUs).

    Returns:
        tuple: the timing of ``fn`` and the list of probe values.
    """
    stats, probes = time_interleaved({'fn': fn}, warmup, repeats, device,
                                     probe)
    return stats['fn'], probes['fn']


def time_interleaved(fns: Dict[str, Callable[[], Any]],
                     warmup: int = 1,
                     repeats: int = 3,
                     device: Optional[torch.device] = None,
                     probe: Optional[Callable[[], float]] = None,
                     clock: Callable[[], float] = time.perf_counter
                     ) -> Tuple[Dict[str, TimingStats], Dict[str, List]]:
    """Time several callables in round-robin order.

    Every round runs each callable once (after ``warmup`` rounds), so a
    change of machine load during the measurement (a shared CPU) hits all
    of them alike and their ratios stay meaningful. With ``probe`` (e.g. a
    GEMM-rate sample), ``probe()`` runs right before every timed call and
    its values are returned per name. ``clock`` reads the time (default
    wall clock; ``time.process_time`` gives the process's CPU time, which
    a busy machine barely changes for a single-threaded run).

    Returns:
        tuple: ``{name: TimingStats}`` and ``{name: [probe values]}``.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    probes = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if probe is not None:
                probes[name].append(probe())
            synchronize(device)
            t0 = clock()
            fn()
            synchronize(device)
            times[name].append(clock() - t0)
    stats = {name: TimingStats.from_times(t) for name, t in times.items()}
    return stats, probes


# --------------------------------------------------------------------------
# peak memory
# --------------------------------------------------------------------------
def read_status_kb(key: str) -> Optional[int]:
    """A KiB figure of ``/proc/self/status`` (``VmRSS``, ``VmHWM``: the
    resident set now and at its peak); None off Linux."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_peak_rss_supported() -> bool:
    """Whether the process peak RSS can be reset and read (Linux)."""
    if read_status_kb('VmHWM') is None:
        return False
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    return True


class PeakMemory:
    """Peak memory used inside a ``with`` block, in bytes (``.peak``).

    - CUDA: ``torch.cuda.max_memory_allocated`` minus the allocated memory
      at entry, i.e. the peak of live tensor memory the block added.
    - CPU: growth of the peak resident set size (``VmHWM`` after resetting
      it to the current RSS at entry, minus the RSS at entry). This counts
      every page the process touched (tensors, allocator pools, Python), so
      it is an upper bound of the block's tensor memory. Memory the
      allocator keeps from earlier blocks is reused without growing RSS, so
      for a fair comparison run each configuration in a fresh process with
      ``MALLOC_MMAP_THRESHOLD_`` fixed (large blocks are then returned to
      the OS when freed).

    Example::

        with PeakMemory('cpu') as mem:
            train_step()
        print(mem.peak)
    """

    def __init__(self, device: Any = 'cpu'):
        self.device = torch.device(device)
        self.peak = 0
        self.kind = ('cuda_max_memory_allocated' if self.device.type == 'cuda'
                     else 'cpu_peak_rss_growth')

    def __enter__(self) -> 'PeakMemory':
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            if not cpu_peak_rss_supported():
                raise RuntimeError(
                    'CPU peak memory needs Linux /proc/self/status (VmHWM) '
                    'and a writable /proc/self/clear_refs')
            self._base = read_status_kb('VmRSS') * 1024
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(
                self.device) - self._base
        else:
            self.peak = read_status_kb('VmHWM') * 1024 - self._base


def format_bytes(n: float) -> str:
    """``1536 * 2**20`` -> ``'1.50 GiB'``."""
    for unit, scale in (('GiB', 2**30), ('MiB', 2**20), ('KiB', 2**10)):
        if abs(n) >= scale:
            return f'{n / scale:.2f} {unit}'
    return f'{n:.0f} B'


def malloc_env_for_memory_runs() -> Dict[str, str]:
    """Environment for a child process that measures CPU peak memory.

    A fixed mmap threshold turns off glibc's adaptive threshold, so every
    large block is its own mapping and returns to the OS on free; peaks of
    successive blocks measured in one process are then comparable.
    """
    env = dict(os.environ)
    env.setdefault('MALLOC_MMAP_THRESHOLD_', str(1 << 20))
    env.setdefault('MALLOC_TRIM_THRESHOLD_', str(1 << 20))
    return env
