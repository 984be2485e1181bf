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


#: tool, arguments before --cfg-options, the function that parses them
#: (infer.py's parse_args also checks that the input exists)
CFG_OPTIONS_TOOLS = [
    (('tools', 'train.py'), ['c.py'], 'parse_args'),
    (('tools', 'test.py'), ['c.py', 'w.pth'], 'parse_args'),
    (('tools', 'infer.py'), ['c.py', 'w.pth', 'v.mp4'], 'build_parser'),
    (('tools', 'analyze_video.py'), ['c.py', 'w.pth', 'v.mp4'], 'parse_args'),
    (('tools', 'data', 'check_dataset.py'), ['c.py'], 'parse_args'),
]


@pytest.mark.parametrize('tool,argv,fn', CFG_OPTIONS_TOOLS,
                         ids=lambda v: v[-1] if isinstance(v, tuple) else '')
@pytest.mark.parametrize('entry,message', [
    ('foo', "--cfg-options: 'foo' is not key=value (e.g. fold=2)"),
    ('=3', "--cfg-options: '=3' is not key=value (e.g. fold=2)"),
    ('a=[1,2', "--cfg-options: 'a=[1,2': unbalanced brackets in the value"),
])
def test_malformed_cfg_option_is_a_usage_error(tool, argv, fn, entry,
                                                message, capsys):
    from s2d_testing import load_script
    module = load_script(*tool)
    parse = module.build_parser().parse_args if fn == 'build_parser' else \
        module.parse_args
    with pytest.raises(SystemExit) as info:
        parse([*argv, '--cfg-options', 'fold=2', entry])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: ') and 'Traceback' not in err
    assert err.splitlines()[-1].endswith(f'error: {message}')
    # well-formed entries still parse as mmengine's DictAction does
    args = parse([*argv, '--cfg-options', 'fold=2', 'a=[1,2]', 'b=x'])
    assert args.cfg_options == {'fold': 2, 'a': [1, 2], 'b': 'x'}


def test_face_search_options_are_the_same_in_both_video_tools(capsys):
    """tools/analyze_video.py and tools/data/extract_faces.py take one set
    of detector / tracker options (both spellings of a detector argument)
    and refuse the same bad ones."""
    from s2d_testing import load_script
    from s2d_mm.video_analysis.face_search_args import face_detector_cfg
    analyze = load_script('tools', 'analyze_video.py').parse_args
    extract = load_script('tools', 'data', 'extract_faces.py').parse_args
    shared = ['--iou-thr', '0.4', '--reid-gap', '0', '--enlarge', '1.2']
    a = analyze(['c.py', 'w.pth', 'v.mp4', '--detector', 'yunet',
                 '--det-model', 'y.onnx', '--det-score-thr', '0.8', *shared])
    e = extract(['videos.csv', 'out', '--detector', 'YuNetFaceDetector',
                 '--det-options', 'model=y.onnx', 'score_thr=0.8', *shared])
    assert face_detector_cfg(a) == face_detector_cfg(e) == dict(
        type='YuNetFaceDetector', model='y.onnx', score_thr=0.8)
    for name in ('detect_every', 'max_missed', 'iou_thr', 'min_hit_share',
                 'min_score', 'reid_gap', 'enlarge'):
        assert getattr(a, name) == getattr(e, name), name
    assert face_detector_cfg(a, 'cuda:1') == face_detector_cfg(a)  # no device
    m = analyze(['c.py', 'w.pth', 'v.mp4'])
    assert face_detector_cfg(m, 'cpu') == dict(type='MTCNNFaceDetector',
                                               device='cpu')
    m = analyze(['c.py', 'w.pth', 'v.mp4', '--detector', 'MTCNNFaceDetector',
                 '--det-options', 'max_side=960'])
    assert face_detector_cfg(m, 'cpu') == dict(
        type='MTCNNFaceDetector', device='cpu', max_side=960)

    for bad, message in (
            (['--detector', 'retina'], '--detector retina: not one of mtcnn, '
             'haar, yunet, mmdet nor a registered face detector'),
            (['--detector', 'yunet'],
             '--detector yunet needs --det-model FILE.onnx'),
            (['--detector', 'haar', '--det-score-thr', '0.5'],
             '--detector haar has no detection score (--det-score-thr)'),
            (['--det-options', 'score_thr'],
             "--det-options: 'score_thr' is not key=value (e.g. fold=2)"),
            (['--min-hit-share', '2'], '--min-hit-share must be in [0, 1]')):
        for parse, argv in ((analyze, ['c.py', 'w.pth', 'v.mp4']),
                            (extract, ['videos.csv', 'out'])):
            with pytest.raises(SystemExit) as info:
                parse([*argv, *bad])
            assert info.value.code == 2
            assert capsys.readouterr().err.splitlines()[-1].endswith(
                f'error: {message}'), bad
