"""tools/infer.py on a video file, a frame folder, a folder of videos, and a
video without a face; its face detector and crop are those of
tools/data/extract_faces.py."""
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
    assert res['detector'] == 'MTCNNFaceDetector'  # extract_faces' default
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
    (['--detector', 'retina'], '--detector retina: not one of mtcnn, haar, '
     'yunet, mmdet nor a registered face detector'),
    (['--detector', 'haar', '--det-score-thr', '3'],
     '--detector haar has no detection score'),
    (['--detector', 'yunet'], '--detector yunet needs --det-model'),
    # one box per clip: the tracking options are not infer's
    (['--detect-every', '3'], 'unrecognized arguments: --detect-every 3'),
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


def test_detector_options_are_those_of_extract_faces(tmp_path):
    """infer reads the detector options of extract_faces (one parser
    helper): the same defaults (MTCNN, enlarge 1.3) and both spellings of a
    detector argument."""
    from s2d_mm.video_analysis.face_search_args import face_detector_cfg
    infer = _load_infer().parse_args
    extract = load_script('tools', 'data', 'extract_faces.py').parse_args
    clip = str(tmp_path / 'x.mp4')
    open(clip, 'wb').close()
    a, e = infer(['c.py', 'w.pth', clip]), extract(['v.csv', 'out'])
    assert face_detector_cfg(a) == face_detector_cfg(e) == dict(
        type='MTCNNFaceDetector')
    assert a.enlarge == e.enlarge == 1.3
    a = infer(['c.py', 'w.pth', clip, '--detector', 'yunet', '--det-model',
               'y.onnx', '--det-score-thr', '0.8', '--enlarge', '1.2'])
    e = extract(['v.csv', 'out', '--detector', 'YuNetFaceDetector',
                 '--det-options', 'model=y.onnx', 'score_thr=0.8',
                 '--enlarge', '1.2'])
    assert face_detector_cfg(a) == face_detector_cfg(e) == dict(
        type='YuNetFaceDetector', model='y.onnx', score_thr=0.8)
    assert a.enlarge == e.enlarge == 1.2


def test_detector_setup_error_is_reported(setup, capsys):
    rc = _load_infer().main([setup['cfg'], setup['ckpt'], setup['face_mp4'],
                             '--detector', 'yunet', '--det-model',
                             str(setup['root'] / 'missing.onnx')])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'missing.onnx' in err


@pytest.fixture(scope='module')
def astronaut_video(setup):
    """A real face (scikit-image's astronaut) composited, still, into 12
    frames of 320 x 240, and what extract_faces cuts from it."""
    from s2d_testing.raw_videos import render_video, write_video
    frames, boxes = render_video(
        12, (320, 240), [dict(start=(150, 115), end=(150, 115), side=90)],
        'brick', seed=3)
    path = write_video(str(setup['root'] / 'astronaut' / 'astro.mp4'),
                       frames, 8)
    csv = setup['root'] / 'astronaut' / 'one.csv'
    csv.write_text(f'{path},Happy\n')
    extract = load_script('tools', 'data', 'extract_faces.py')
    out = str(setup['root'] / 'astronaut' / 'extracted')
    assert extract.main([str(csv), out, '--no-progress',
                         '--min-frames', '8']) == 0
    meta = json.load(open(osp.join(out, 'meta', 'astro.json')))
    return dict(path=path, box=boxes[0, 0], extract_meta=meta)


def test_default_crop_is_that_of_extract_faces(setup, astronaut_video,
                                               capsys):
    """On a real face, infer's default crop (MTCNN, x1.3) is the crop
    extract_faces cut the training clip with; --detector haar frames the
    face differently (a smaller crop: Haar's box is shorter)."""
    infer = _load_infer()
    out = str(setup['root'] / 'astronaut' / 'infer.json')
    assert infer.main([setup['cfg'], setup['ckpt'], astronaut_video['path'],
                       '--out', out]) == 0
    res = json.load(open(out))['results']['astro']
    meta = astronaut_video['extract_meta']
    assert res['detector'] == meta['detector'] == 'MTCNNFaceDetector'
    crop = np.array(res['face_box'])
    extracted = np.median(np.array(meta['crop_boxes']), axis=0)
    side = crop[2] - crop[0]
    # same box up to the detector's frame-to-frame jitter
    assert np.abs(crop - extracted).max() < 0.03 * side
    # the known face lies inside the crop
    fx1, fy1, fx2, fy2 = astronaut_video['box']
    assert crop[0] <= fx1 and crop[1] <= fy1
    assert fx2 <= crop[2] and fy2 <= crop[3]

    out_haar = str(setup['root'] / 'astronaut' / 'infer_haar.json')
    assert infer.main([setup['cfg'], setup['ckpt'], astronaut_video['path'],
                       '--detector', 'haar', '--out', out_haar]) == 0
    haar = json.load(open(out_haar))['results']['astro']
    assert haar['detector'] == 'HaarFaceDetector'
    haar_side = haar['face_box'][2] - haar['face_box'][0]
    # Haar's box is about the known (square) face box, MTCNN's runs from
    # brow to chin: its crop is 1.12-1.22 x Haar's on this face at 70-100
    # px (docs/datasets.md)
    assert haar_side == pytest.approx(1.3 * (fx2 - fx1), rel=0.05)
    assert 1.08 < side / haar_side < 1.3
