"""Bad flags and configs of tools/test.py and the dist_*.sh scripts stop
with a usage line or a one-line message, not a traceback."""
import os
import subprocess

import pytest

from .conftest import REPO, load_tool


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        load_tool('test').parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: ')
    return err.splitlines()[-1]


def test_dump_must_be_a_pickle_file(capsys):
    err = _usage_error(capsys, ['c.py', 'w.pth', '--dump', 'preds.json'])
    assert err.endswith('error: --dump must name a pickle file (.pkl or '
                        '.pickle), got preds.json')
    args = load_tool('test').parse_args(['c.py', 'w.pth', '--dump', 'p.pkl'])
    assert args.dump == 'p.pkl'


def test_onnx_file_needs_onnx_precision(capsys):
    err = _usage_error(capsys, ['c.py', 'w.pth', '--onnx-file', 'm.onnx'])
    assert err.endswith('error: --onnx-file needs --precision onnx')


def test_config_without_test_evaluator_is_one_line(tmp_path, capsys):
    cfg = tmp_path / 'no_eval.py'
    cfg.write_text(
        f"_base_ = ['{REPO}/configs/_base_/models/s2d_tiny.py',\n"
        f"          '{REPO}/configs/_base_/default_runtime.py']\n"
        'test_dataloader = dict(dataset=dict(type="DFEWDataset"))\n')
    with pytest.raises(SystemExit) as exit_info:
        load_tool('test').main([str(cfg), 'w.pth'])
    message = str(exit_info.value.code)
    assert message == (
        f'error: {cfg}: the config has no test_evaluator (e.g. '
        "test_evaluator = dict(type='UARWARMetric'))")


@pytest.mark.parametrize('script,args,usage', [
    ('dist_train.sh', [], 'CONFIG NUM_GPUS [tools/train.py options]'),
    ('dist_train.sh', ['c.py'], 'CONFIG NUM_GPUS'),
    ('dist_test.sh', ['c.py', 'w.pth'],
     'CONFIG CHECKPOINT NUM_GPUS [tools/test.py options]'),
])
def test_dist_scripts_print_usage(script, args, usage):
    proc = subprocess.run(['bash', os.path.join(REPO, 'tools', script)] +
                          args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f'usage: bash tools/{script} {usage}')
    assert 'unbound variable' not in proc.stderr


def test_dist_scripts_check_the_process_count():
    proc = subprocess.run(
        ['bash', os.path.join(REPO, 'tools', 'dist_test.sh'), 'c.py', 'w.pth',
         'two'], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "error: NUM_GPUS must be a positive integer, got 'two'" in \
        proc.stderr


def test_refused_override_is_one_line_in_train_and_test(tmp_path, capsys):
    """A top-level variable override that cannot reach its uses stops the
    tools with one line (no traceback)."""
    from s2d_testing import load_script
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = osp.join(repo, 'configs', 's2d_dfew.py')
    for tool, extra in (('train.py', []), ('test.py', ['x.pth'])):
        module = load_script('tools', tool)
        with pytest.raises(SystemExit) as info:
            module.main([cfg, *extra, '--cfg-options', 'lable_base=0'])
        assert str(info.value.code).startswith('error: ')
        assert 'label_base' in str(info.value.code)
