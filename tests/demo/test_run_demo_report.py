"""The demo's report names the machine next to every time; its inference
example names the detector that found the face."""
import pytest
from s2d_testing import load_script

from s2d_mm.utils.machine import describe_machine


@pytest.fixture(scope='module')
def run_demo(repo_root):
    return load_script('demo', 'run_demo.py')


class _FakeClock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_stage_clock_records_wall_and_cpu(run_demo):
    wall, cpu = _FakeClock(), _FakeClock()
    clock = run_demo.StageClock(wall=wall, cpu=cpu)
    clock.start('a')
    wall.now += 2.0
    cpu.now += 3.46  # two threads busy
    clock.start('b')  # closes 'a'
    wall.now += 5.0  # waiting: no CPU
    stages = clock.stop()
    assert stages == dict(a=dict(wall_s=2.0, cpu_s=3.5),
                          b=dict(wall_s=5.0, cpu_s=0.0))
    assert clock.stop() == stages  # nothing open any more
    wall.now += 1.0
    clock.start('c')
    wall.now += 1.25
    assert clock.last() == '[wall 1 s, CPU 0 s]'
    assert list(clock.stages) == ['a', 'b', 'c']
    assert clock.stages['c'] == dict(wall_s=1.2, cpu_s=0.0)


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


def test_inference_example_names_its_detector(run_demo, tmp_path, capsys):
    """The example runs inference_video with the default detector (MTCNN,
    as tools/infer.py and tools/data/extract_faces.py) on a rendered face
    and says which detector found it."""
    from s2d_testing.tiny import make_tiny_s2d
    cfg, ckpt = make_tiny_s2d(str(tmp_path / 'model'))
    out = run_demo._infer_example(str(tmp_path),
                                  dict(config=cfg, checkpoint=ckpt))
    assert out == str(tmp_path / 'example_prediction.mp4')
    assert (tmp_path / 'example_prediction.jpg').is_file()
    printed = capsys.readouterr().out
    assert 'rendered Happy clip, face found by MTCNNFaceDetector at [' \
        in printed
