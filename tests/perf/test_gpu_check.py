"""``tools/analysis/gpu_check.py --tiny`` on the CPU: every row of the GPU
table runs (so the script is correct before a GPU is at hand), agrees with
fp32 where it should, and the table is written as JSON and markdown."""
import json
import os.path as osp

import pytest
from s2d_testing import load_script


@pytest.fixture(scope='module')
def gpu_check():
    return load_script('tools', 'analysis', 'gpu_check.py')


@pytest.mark.slow
def test_gpu_check_tiny_on_cpu(gpu_check, tmp_path):
    res = gpu_check.main(['--tiny', '--device', 'cpu', '--warmup', '0',
                          '--repeats', '1', '--out', str(tmp_path)])
    rows = {(r['section'], r['name']): r for r in res['rows']}
    expected = [('train', f'{m}{" AMP" if m != "fp32" else ""}{cp}')
                for m in ('fp32', 'fp16', 'bf16')
                for cp in ('', ', checkpointing')]
    expected += [('train', 'reference (release-style) fp32'),
                 ('infer', 'fp32'), ('infer', 'fp16 autocast'),
                 ('infer', 'bf16 autocast'),
                 ('infer', 'reference (release-style) fp32'),
                 ('ddp', '2 processes, one device')]
    for key in expected:
        assert key in rows, key
        assert rows[key]['clips_per_s'] > 0, rows[key]
    # the reference path computes what the model computes
    assert 'max dprob vs fp32 0.0000' in rows[('infer', 'reference '
                                              '(release-style) fp32')]['note']
    assert 'ranks equal after the step: True' in \
        rows[('ddp', '2 processes, one device')]['note']
    assert rows[('infer', 'torch.compile')]['note'] == \
        'not run (--no-compile)'
    # nothing failed (refusing bf16 on a CPU that emulates it is not a
    # failure of the script)
    assert not [r for r in res['rows'] if r['note'].startswith('failed')]
    with open(osp.join(tmp_path, 'gpu_check.json')) as f:
        saved = json.load(f)
    assert saved['rows'] == res['rows']
    assert set(saved['machine']['gemm_gflops']) == {'fp32', 'bf16', 'fp16'}
    with open(osp.join(tmp_path, 'gpu_check.md')) as f:
        text = f.read()
    assert '| section | what | clips/s | peak MiB | note |' in text
    assert text.count('\n| ') == len(res['rows']) + 1


def test_gpu_check_rejects_unknown_sections(gpu_check, capsys):
    with pytest.raises(SystemExit):
        gpu_check.parse_args(['--sections', 'train,warp', '--out', 'x'])
    assert "unknown sections ['warp']" in capsys.readouterr().err
