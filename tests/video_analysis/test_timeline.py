"""Emotion timeline over a video with real faces (scikit-image's astronaut
photograph): tracks, windows, the CSV/JSON schema, gaps, bounded memory,
agreement with inference_video, and tools/analyze_video.py."""
import csv
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from s2d_testing import load_script

from s2d_mm.apis import NoFaceFoundError, inference_video
from s2d_mm.video_analysis.face_crop import crop_frame
from s2d_mm.video_analysis.timeline import TIMELINE_COLUMNS, analyze_video, window_starts

# tiny model: 4 frames at interval 2 -> a window spans 7 frames (0.28 s)
SPAN = 7


def _centre_x(box):
    return (box[0] + box[2]) / 2


def test_window_starts():
    assert window_starts(0, 49, 7, 12) == [0, 12, 24, 36, 43]
    assert window_starts(10, 16, 7, 12) == [10]
    assert window_starts(10, 15, 7, 12) == []  # shorter than a window


def test_two_faces_give_two_tracks_kept_apart(tiny_s2d, two_faces_mp4):
    model = tiny_s2d[2]
    tl = analyze_video(model, two_faces_mp4, detect_every=5)
    assert tl.num_frames == 50 and tl.fps == pytest.approx(25)
    assert [t['track_id'] for t in tl.tracks] == [0, 1]
    w = 320  # frame width
    for t in tl.tracks:
        assert (t['first_frame'], t['last_frame']) == (0, 49)
        # every detection of a track is on its own side of the frame
        det = np.array(t['detections'])[:, 1:5]
        side = np.sign((det[:, 0] + det[:, 2]) / 2 - w / 2)
        assert (side == (-1 if t['track_id'] == 0 else 1)).all()
        assert len(det) == 11  # frames 0, 5, ..., 45 and 49
    # the faces move apart: track 0 left, track 1 right
    assert _centre_x(tl.face_box(0, 49)) < _centre_x(tl.face_box(0, 0)) - 10
    assert _centre_x(tl.face_box(1, 49)) > _centre_x(tl.face_box(1, 0)) + 10
    assert len(tl.rows_of(0)) == len(tl.rows_of(1)) == 5


def test_rows_cover_the_whole_duration(tiny_s2d, two_faces_mp4):
    tl = analyze_video(tiny_s2d[2], two_faces_mp4, stride=0.5)
    assert tl.window == dict(num_frames=4, frame_interval=2, span_frames=7,
                             span_s=0.28, stride_frames=12, stride_s=0.48)
    for tid in (0, 1):  # from the first frame to the last
        rows = tl.rows_of(tid)
        assert [r['frame_start'] for r in rows] == [0, 12, 24, 36, 43]
        assert rows[-1]['frame_end'] == 49
    # a stride shorter than the window: every moment is in some window
    tl = analyze_video(tiny_s2d[2], two_faces_mp4, stride=0.2)
    assert tl.window['stride_frames'] == 5
    for tid in (0, 1):
        rows = tl.rows_of(tid)
        assert rows[0]['t_start'] == 0.0
        assert rows[-1]['t_end'] == pytest.approx(tl.duration) == 2.0
        for a, b in zip(rows, rows[1:]):
            assert b['t_start'] <= a['t_end']  # no hole between windows
        for r in rows:
            assert r['frame_end'] - r['frame_start'] + 1 == SPAN
            assert r['t_center'] == pytest.approx(
                (r['t_start'] + r['t_end']) / 2)


def test_csv_and_json_schema(tiny_s2d, two_faces_mp4, tmp_path):
    tl = analyze_video(tiny_s2d[2], two_faces_mp4)
    classes = tl.classes
    assert classes == ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                       'Disgust', 'Fear']
    tl.to_csv(str(tmp_path / 'timeline.csv'))
    tl.to_json(str(tmp_path / 'timeline.json'))
    with open(tmp_path / 'timeline.csv', newline='') as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == list(TIMELINE_COLUMNS) + classes + [
        'top_class']
    assert len(rows) == len(tl.rows) == 10
    for row in rows:
        probs = np.array([float(row[c]) for c in classes])
        assert probs.sum() == pytest.approx(1, abs=1e-5)
        assert row['top_class'] == classes[int(probs.argmax())]
        assert int(row['track_id']) in (0, 1)
        fs, fe = int(row['frame_start']), int(row['frame_end'])
        assert float(row['t_start']) == pytest.approx(fs / 25, abs=1e-3)
        assert float(row['t_end']) == pytest.approx((fe + 1) / 25, abs=1e-3)
    data = json.load(open(tmp_path / 'timeline.json'))
    assert data['columns'] == reader.fieldnames
    assert data['classes'] == classes and len(data['rows']) == 10
    assert data['rows'][3] == pytest.approx(tl.rows[3])
    assert [t['track_id'] for t in data['tracks']] == [0, 1]
    assert data['fps'] == 25 and data['num_frames'] == 50


@pytest.mark.parametrize('gap,reid,tracks', [((20, 28), True, 2),
                                              ((15, 40), False, 4),
                                              ((15, 40), True, 2)])
def test_face_free_gap_bridged_split_or_reidentified(tiny_s2d, face_videos,
                                                     gap, reid, tracks):
    """Detection every 5 frames, K=3: a gap missing fewer than 3 detection
    rounds is bridged (one track per face); a longer one ends the tracks,
    and the faces come back as new tracks, or, with re-identification by
    appearance, with the ids they had (the left face is not taken for its
    mirror image on the right); no window covers face-free frames."""
    reader = face_videos.Reader(60, gaps=[gap])
    tl = analyze_video(tiny_s2d[2], reader, detect_every=5, max_missed=3,
                       min_track_seconds=0.,
                       reid_gap_seconds=2. if reid else None)
    assert len(tl.tracks) == tracks
    spans = [(t['first_frame'], t['last_frame']) for t in tl.tracks]
    if gap == (20, 28):
        assert spans == [(0, 59), (0, 59)]
        return
    for r in tl.rows:
        assert r['frame_end'] < gap[0] or r['frame_start'] >= gap[1]
    # ids in order of appearance, left face first
    left = [_centre_x(tl.face_box(t['track_id'], t['last_frame'])) < 160
            for t in tl.tracks]
    if not reid:
        # before: last detection at 10; after: first detection at 40
        assert sorted(spans) == [(0, 10), (0, 10), (40, 59), (40, 59)]
        assert left == [True, False, True, False]
        assert tl.reid_links == []
    else:
        assert [t['segments'] for t in tl.tracks] == [[[0, 10], [40, 59]]] * 2
        assert left == [True, False]
        for t in tl.tracks:  # the same side before and after the gap
            before = _centre_x(tl.face_box(t['track_id'], 10))
            assert (before < 160) == (_centre_x(
                tl.face_box(t['track_id'], 59)) < 160)
        assert sorted(link['track_id'] for link in tl.reid_links) == [0, 1]
        assert all(link['gap_frames'] == 29 for link in tl.reid_links)


def test_memory_does_not_grow_with_length(tiny_s2d, face_videos):
    """Frames held at once by the analysis (decoded frames waiting for their
    windows) are the same for a 2-s and a 6-s video; only the decoded count
    grows, and only frames some window uses are decoded."""
    stats = {}
    for n in (50, 150):
        reader = face_videos.Reader(n)
        tl = analyze_video(tiny_s2d[2], reader, detect_every=10,
                           chunk_size=8)
        stats[n] = tl.stats
        used = {f for r in tl.rows
                for f in range(r['frame_start'], r['frame_end'] + 1, 2)}
        det = set(range(0, n, 10)) | {n - 1}
        assert reader.num_decoded == len(det) + len(used)
    assert stats[150]['num_windows'] > 2.5 * stats[50]['num_windows']
    assert stats[150]['frames_decoded'] > 2.5 * stats[50]['frames_decoded']
    assert stats[150]['peak_frames_held'] == stats[50]['peak_frames_held']
    # at most: a chunk of frames per track, plus one window span per track
    assert stats[150]['peak_frames_held'] <= 2 * (8 + SPAN)


def test_landmark_branch_runs_once_per_frame(tiny_s2d, face_videos,
                                             monkeypatch):
    model = tiny_s2d[2]
    seen = []
    forward = type(model.backbone.landmark).forward

    def counting(self, frames=None, **kwargs):
        if frames is not None:
            seen.append(frames.shape[0])
        return forward(self, frames, **kwargs)

    monkeypatch.setattr(type(model.backbone.landmark), 'forward', counting)
    # stride 2 frames < span 7: every frame belongs to 3-4 windows
    tl = analyze_video(model, face_videos.Reader(30), stride=0.08)
    unique = sum(len({f for r in tl.rows_of(t['track_id'])
                      for f in range(r['frame_start'], r['frame_end'] + 1,
                                     2)}) for t in tl.tracks)
    assert sum(seen) == unique == tl.stats['landmark_frames']
    assert tl.stats['num_windows'] * 4 > 2.5 * unique  # frames reused


def test_windows_equal_inference_on_their_crops(tiny_s2d, face_videos):
    """A timeline row is what inference_video gives for the window's four
    frames cropped with the track's boxes (same pipeline, same numbers)."""
    model = tiny_s2d[2]
    frames = face_videos.frames(30)
    tl = analyze_video(model, frames, fps=25)
    for row in (tl.rows_of(1)[0], tl.rows_of(0)[-1]):
        inds = list(range(row['frame_start'], row['frame_end'] + 1, 2))
        tid = row['track_id']
        crops = [crop_frame(frames[i], tl.crop_box(tid, i)) for i in inds]
        want = inference_video(model, crops, detect=False)['probs']
        got = np.array([row[c] for c in tl.classes])
        np.testing.assert_allclose(got, want, atol=1e-6)
    # whole frames without detection: one track, same agreement
    whole = analyze_video(model, frames[:7], fps=25, detect=False)
    assert len(whole.rows) == 1
    want = inference_video(model, frames[:7:2], detect=False)['probs']
    np.testing.assert_allclose(
        [whole.rows[0][c] for c in whole.classes], want, atol=1e-6)


def test_video_without_faces(tiny_s2d):
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 12
    with pytest.raises(NoFaceFoundError, match='no face found') as err:
        analyze_video(tiny_s2d[2], frames, fps=25)
    assert '0 of 4 probed frames' in str(err.value)


def _load_tool():
    return load_script('tools', 'analyze_video.py')


def test_tool_writes_timeline_picture_and_video(tiny_s2d, two_faces_mp4,
                                                tmp_path, capsys):
    cfg, ckpt, _ = tiny_s2d
    out = tmp_path / 'out'
    rc = _load_tool().main([cfg, ckpt, two_faces_mp4, '--out-dir', str(out),
                            '--annotated', '--no-progress', '--device',
                            'cpu'])
    assert rc == 0
    printed = capsys.readouterr().out
    assert 'windows/s' in printed and '2 face track(s)' in printed
    out = out / 'two_faces'
    assert len(list(csv.DictReader(open(out / 'timeline.csv')))) == 10
    png = cv2.imread(str(out / 'timeline.png'))
    assert png is not None and png.shape[1] > 800
    cap = cv2.VideoCapture(str(out / 'annotated.mp4'))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 50


def test_tool_exit_codes(tiny_s2d, tmp_path, capsys, face_videos):
    cfg, ckpt, _ = tiny_s2d
    tool = _load_tool()
    blank = face_videos.write_video(
        tmp_path / 'blank.mp4', [np.full((120, 160, 3), 90, np.uint8)] * 12)
    assert tool.main([cfg, ckpt, blank, '--out-dir', str(tmp_path / 'o'),
                      '--no-progress', '--device', 'cpu']) == 1
    err = capsys.readouterr().err
    assert 'blank' in err and 'no face found' in err
    assert len(err.strip().splitlines()) == 1
    assert not osp.exists(tmp_path / 'o' / 'blank' / 'timeline.csv')
    assert tool.main([cfg, ckpt, str(tmp_path / 'nope.mp4')]) == 1
    assert 'video not found' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        tool.main([cfg, ckpt, blank, '--detector', 'yunet'])
    assert exit_.value.code == 2
    assert '--detector yunet needs --det-model' in capsys.readouterr().err
    missing = str(tmp_path / 'yunet.onnx')
    assert tool.main([cfg, ckpt, blank, '--detector', 'yunet',
                      '--det-model', missing]) == 2
    assert 'YuNet model file not found' in capsys.readouterr().err
    for bad in (['--stride', '0'], ['--min-hit-share', '2'],
                ['--cfg-options', 'model'], ['--precision', 'fp16']):
        with pytest.raises(SystemExit) as exit_:
            tool.main([cfg, ckpt, blank] + bad)
        assert exit_.value.code == 2


@pytest.mark.parametrize('precision,tol', [('int8', 0.05), ('onnx', 1e-4)])
def test_precisions_give_the_fp32_rows(tiny_s2d, face_videos, precision,
                                       tol):
    """The timeline in int8 (Linear layers quantized in place) and through
    ONNX Runtime (windows sent to the exported graph, landmark branch
    inside it) gives the fp32 rows, windows batched across the tracks."""
    from s2d_mm.apis import init_model
    cfg, ckpt, fp32 = tiny_s2d
    reader = face_videos.Reader(40)
    ref = analyze_video(fp32, reader, batch_size=3)
    model = init_model(cfg, ckpt, device='cpu')
    tl = analyze_video(model, face_videos.Reader(40), batch_size=3,
                       precision=precision)
    assert tl.precision == precision
    assert [(r['track_id'], r['frame_start']) for r in tl.rows] == \
        [(r['track_id'], r['frame_start']) for r in ref.rows]
    assert {r['track_id'] for r in tl.rows} == {0, 1}
    diff = np.abs(np.array([[r[c] for c in tl.classes] for r in tl.rows]) -
                  np.array([[r[c] for c in ref.classes] for r in ref.rows]))
    assert diff.max() < tol
    if precision == 'onnx':
        assert tl.stats['landmark_frames'] == 0
