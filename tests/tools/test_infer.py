"""tools/infer.py on a video file, a frame folder, a folder of videos, and a
video without a face."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from s2d_testing import load_script
from s2d_testing.tiny import make_tiny_s2d

from demo import render_clip, render_scene_clip


def _load_infer():
    return load_script('tools', 'infer.py')


def _write_mp4(path, frames, fps=8):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer')
    cfg, ckpt = make_tiny_s2d(str(root / 'model'))
    face = render_scene_clip('Happy', seed=1, num_frames=12)['frames']
    videos = root / 'videos'
    videos.mkdir()
    face_mp4 = _write_mp4(str(videos / 'face.mp4'), face)
    rng = np.random.default_rng(0)
    blank = [np.full((240, 320, 3), 120, np.uint8) +
             rng.integers(0, 15, (240, 320, 3), dtype=np.uint8)
             for _ in range(8)]
    noface_mp4 = _write_mp4(str(root / 'noface.mp4'), blank)
    frames_dir = root / 'frames'
    frames_dir.mkdir()
    crops = render_clip('Sad', np.random.default_rng(3), 6, (48, 48))
    for i, f in enumerate(crops['frames']):
        cv2.imwrite(str(frames_dir / f'{i + 1}.jpg'), f)
    return dict(root=root, cfg=cfg, ckpt=ckpt, face_mp4=face_mp4,
                noface_mp4=noface_mp4, frames_dir=str(frames_dir),
                videos=str(videos))


def test_video_file_with_detection(setup, capsys):
    infer = _load_infer()
    out = str(setup['root'] / 'face.json')
    vis = str(setup['root'] / 'vis' / 'face_vis.mp4')
    rc = infer.main([setup['cfg'], setup['ckpt'], setup['face_mp4'],
                     '--out', out, '--out-video', vis, '--topk', '2'])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed.count('face: ') == 1
    res = json.load(open(out))['results']['face']
    probs = res['probs']
    assert len(probs) == 7 and abs(sum(probs.values()) - 1) < 1e-5
    assert res['pred_class'] == max(probs, key=probs.get)
    assert res['num_input_frames'] == 12
    assert res['frame_inds'] == [1, 4, 7, 10]
    x1, y1, x2, y2 = res['face_box']
    assert 40 < x2 - x1 < 240 and abs((x2 - x1) - (y2 - y1)) < 1e-3
    cap = cv2.VideoCapture(vis)
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 4  # one visualisation frame per model frame


def test_frame_folder_no_detect(setup, capsys):
    infer = _load_infer()
    out = str(setup['root'] / 'frames.json')
    rc = infer.main([setup['cfg'], setup['ckpt'], setup['frames_dir'],
                     '--no-detect', '--out', out])
    assert rc == 0
    res = json.load(open(out))['results']['frames']
    assert res['face_box'] is None and res['num_input_frames'] == 6
    assert abs(sum(res['probs'].values()) - 1) < 1e-5


def test_video_without_face_fails_clearly(setup, capsys):
    infer = _load_infer()
    rc = infer.main([setup['cfg'], setup['ckpt'], setup['noface_mp4']])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'noface.mp4' in err and 'no face found' in err
    assert '--no-detect' in err


def test_folder_of_videos_reports_each(setup, capsys):
    infer = _load_infer()
    os.link(setup['noface_mp4'], osp.join(setup['videos'], 'zz_noface.mp4'))
    out = str(setup['root'] / 'all.json')
    rc = infer.main([setup['cfg'], setup['ckpt'], setup['videos'],
                     '--out', out])
    assert rc == 1  # one clip has no face
    res = json.load(open(out))['results']
    assert set(res) == {'face', 'zz_noface'}
    assert 'probs' in res['face'] and 'error' in res['zz_noface']
    captured = capsys.readouterr()
    assert 'zz_noface: NO FACE FOUND' in captured.out


def _usage_error(capsys, argv):
    """The tool stops with argparse's usage error (status 2); its
    message."""
    with pytest.raises(SystemExit) as exit_info:
        _load_infer().main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: ')
    return err.splitlines()[-1]


def test_bad_input_path(setup, capsys):
    err = _usage_error(capsys, [setup['cfg'], setup['ckpt'],
                                str(setup['root'] / 'missing.mp4')])
    assert err.endswith('error: input not found: ' +
                        str(setup['root'] / 'missing.mp4'))


@pytest.mark.parametrize('flags,message', [
    (['--topk', '0'], '--topk must be >= 1, got 0'),
    (['--enlarge', '0'], '--enlarge must be > 0, got 0.0'),
    (['--fps', '-1'], '--fps must be > 0, got -1.0'),
    (['--onnx-file', 'm.onnx'], '--onnx-file needs --precision onnx'),
    (['--device', 'toaster'], "--device 'toaster' is not a device"),
    (['--precision', 'fp8'], "argument --precision: invalid choice: 'fp8'"),
])
def test_bad_flags_are_usage_errors(flags, message, capsys, tmp_path):
    err = _usage_error(capsys, ['c.py', 'w.pth', str(tmp_path)] + flags)
    assert message in err


def test_cuda_device_without_cuda_is_a_usage_error(capsys, tmp_path,
                                                   monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    err = _usage_error(capsys, ['c.py', 'w.pth', str(tmp_path), '--device',
                                'cuda:0'])
    assert 'CUDA is not available on this machine; use --device cpu' in err
    # the default follows mmaction2's demos: cuda:0 where there is CUDA
    clip = tmp_path / 'x.mp4'
    clip.write_bytes(b'')
    infer = _load_infer()
    assert infer.parse_args(['c.py', 'w.pth', str(clip)]).device == 'cpu'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert infer.parse_args(['c.py', 'w.pth', str(clip)]).device == 'cuda:0'


def test_show_without_display_does_not_crash(setup, capsys, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    infer = _load_infer()
    rc = infer.main([setup['cfg'], setup['ckpt'], setup['frames_dir'],
                     '--no-detect', '--show'])
    assert rc == 0
    assert 'no display' in capsys.readouterr().err


def test_unreadable_video_is_reported(setup, capsys):
    infer = _load_infer()
    bad = setup['root'] / 'broken.mp4'
    bad.write_bytes(b'not a video at all')
    rc = infer.main([setup['cfg'], setup['ckpt'], str(bad)])
    assert rc == 1
    captured = capsys.readouterr()
    assert 'broken: CANNOT READ' in captured.out
    assert 'error: ' in captured.err and 'broken.mp4' in captured.err
    assert '1 of 1 clip(s) got no prediction' in captured.err


def test_only_input_problems_are_reported_as_input(setup, capsys):
    """A wrong config is not bad input: its error propagates with the
    traceback instead of 'CANNOT READ'."""
    infer = _load_infer()
    with pytest.raises(ValueError, match='input format NCTHW_typo'):
        infer.main([setup['cfg'], setup['ckpt'], setup['frames_dir'],
                    '--no-detect', '--cfg-options',
                    'test_pipeline.3.input_format=NCTHW_typo'])
    assert 'CANNOT READ' not in capsys.readouterr().out
    # a frame that cannot be decoded still is the input's problem
    bad = setup['root'] / 'bad_frames'
    bad.mkdir()
    for i in range(6):
        (bad / f'{i + 1}.jpg').write_bytes(b'not an image')
    assert infer.main([setup['cfg'], setup['ckpt'], str(bad),
                       '--no-detect']) == 1
    assert 'bad_frames: CANNOT READ (cannot read frame' in \
        capsys.readouterr().out


def test_checkpoint_of_another_model_stops_infer(setup, tmp_path):
    import torch

    from s2d_mm.utils.state_dict_fit import CheckpointMismatchError
    infer = _load_infer()
    sd = torch.load(setup['ckpt'], weights_only=True)['state_dict']
    sd['cls_head.fc_cls.weight'] = torch.zeros(8, 32)
    sd['cls_head.fc_cls.bias'] = torch.zeros(8)
    ckpt = str(tmp_path / 'eight_classes.pth')
    torch.save(dict(state_dict=sd), ckpt)
    with pytest.raises(CheckpointMismatchError, match='eight_classes.pth'):
        infer.main([setup['cfg'], ckpt, setup['frames_dir'], '--no-detect'])
