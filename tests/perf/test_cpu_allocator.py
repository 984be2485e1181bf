"""keep_freed_memory: large freed blocks are reused (no new page faults)."""
import subprocess
import sys

import pytest

CHILD = r'''
import resource, sys, torch
from s2d_mm.utils.cpu_allocator import keep_freed_memory
if sys.argv[1] == '1':
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(6):  # 48 MiB: above glibc's largest adaptive mmap threshold
    f0 = faults()
    t = torch.ones(48 * 2**20 // 4)
    counts.append(faults() - f0)
    del t
print(sum(counts[2:]))  # steady state: the last four allocations
'''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_second_large_allocation_reuses_memory():
    def run(flag):
        out = subprocess.run([sys.executable, '-c', CHILD, flag],
                             capture_output=True, text=True, check=True)
        return int(out.stdout.strip().splitlines()[-1])

    pages = 48 * 2**20 // 4096
    # default glibc: every allocation is a fresh mapping, faulted in again
    assert run('0') > 3 * pages
    # kept and reused (at most one round lands on a new address)
    assert run('1') <= 1.1 * pages
