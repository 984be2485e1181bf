"""The demo's report names the machine next to every time."""
import time

import pytest
from s2d_testing import load_script

from s2d_mm.utils.machine import describe_machine


@pytest.fixture(scope='module')
def run_demo(repo_root):
    return load_script('demo', 'run_demo.py')


def _busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_stage_clock_records_wall_and_cpu(run_demo):
    clock = run_demo.StageClock()
    clock.start('a')
    _busy(0.2)
    clock.start('b')  # closes 'a'
    time.sleep(0.2)
    stages = clock.stop()
    assert list(stages) == ['a', 'b']
    assert stages['a']['cpu_s'] >= 0.2 - 0.05
    assert stages['b']['wall_s'] >= 0.2 - 0.05
    assert stages['b']['cpu_s'] < 0.15  # sleeping costs no CPU
    assert clock.stop() == stages  # nothing open any more


def test_machine_line_names_cpu_isa_and_gemm(run_demo):
    gflops = run_demo.gemm_probe()
    assert gflops > 0
    machine = describe_machine()
    machine['gemm_fp32_gflops'] = dict(start=gflops, end=gflops / 2)
    machine['load_average'] = dict(start=3.5, end=1.0)
    line = run_demo.machine_line(machine)
    assert machine['cpu_model'] in line
    for flag in ('AVX2', 'AVX-512', 'AVX512_BF16', 'AMX'):
        assert f'{flag} ' in line
    assert f'{gflops:.0f} GFLOP/s' in line and 'load average 3.5' in line
    machine['load_average'] = None
    assert 'load average' not in run_demo.machine_line(machine)


def test_test_frame_count(run_demo):
    meta = dict(num_test=70, num_frames=16, landmark_stride=2)
    assert run_demo.len_test_frames(meta) == 560
    assert run_demo.len_test_frames(dict(meta, landmark_stride=3)) == 420
