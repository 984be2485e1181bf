"""Keep freed CPU memory for reuse instead of returning it to the OS.

PyTorch's CPU tensors come from ``malloc``. glibc serves blocks larger than
its mmap threshold (adaptive, at most 32 MiB) with a fresh ``mmap`` and
unmaps them on free, so every large activation of a ViT-B forward on 16
frames (e.g. the 3152x3072 fp32 MLP hidden state, 38 MiB) is faulted in
page by page and zero-filled again on every forward: about a gigabyte of
page faults per clip, roughly a tenth of the forward time on a 2-core CPU.
Raising the mmap and trim thresholds makes glibc keep those blocks in its
heap and hand them out again, which removes the faults; the price is that
the process keeps its peak heap until it exits.
"""
import ctypes
import ctypes.util
import sys

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

__all__ = ['keep_freed_memory']


def keep_freed_memory(mmap_threshold: int = 1 << 30,
                      trim_threshold: int = (1 << 31) - 1) -> bool:
    """Make glibc reuse large freed blocks (CPU training/inference).

    Call once at start-up, before the model runs; it affects the whole
    process and only allocations made afterwards.

    Args:
        mmap_threshold (int): Blocks below this size come from the heap
            instead of a private mapping. Default 1 GiB.
        trim_threshold (int): Free heap top kept before returning memory to
            the OS. Default 2 GiB - 1.

    Returns:
        bool: True if applied (glibc found), False otherwise (other
        platforms and allocators are left alone).
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok
    return ok
