"""The two-face real-photo video of issue 23, small and short: scikit-image's
astronaut photograph (face, suit, flag, patches) twice, the right copy
mirrored, moving apart, nobody there in the middle. The default detector and
the track confirmation give exactly the two real faces, each keeping its id
across the gap, and nothing on the suit."""
import numpy as np
import pytest
from s2d_testing import load_script

from s2d_mm.video_analysis import analyze_video, box_iou, track_faces


@pytest.fixture(scope='module')
def video():
    tool = load_script('tools', 'analysis', 'face_detector_eval.py')
    # 3.2 s at 25 fps, 320x180; faces about 25x32 px; gap 1.2-2.0 s
    return tool.PhotoVideo(80, size=(180, 320), photo_height=150,
                           gap=(30, 50), spread=30)


def _on_faces(video, faces, tid):
    """Every detection of the track overlaps a true face."""
    for seg in faces.tracks[tid]:
        for f, box in zip(seg.frames, seg.boxes):
            if box_iou(video.faces(f), box[None]).max() < 0.5:
                return False
    return True


def test_two_real_faces_two_ids_across_the_gap(video):
    faces = track_faces(video.reader())
    assert faces.detector == 'MTCNNFaceDetector'
    assert sorted(faces.tracks) == [0, 1] and faces.dropped == []
    for tid in (0, 1):
        spans = [(s.first_frame, s.last_frame) for s in faces.tracks[tid]]
        # detections every 5 frames: the last before the gap is frame 25
        assert spans == [(0, 25), (50, 79)]
        assert _on_faces(video, faces, tid)
        # the same copy before and after the gap: id 0 left, id 1 right
        for seg in faces.tracks[tid]:
            centre = (seg.boxes[0][0] + seg.boxes[0][2]) / 2
            assert (centre < 160) == (tid == 0)
    assert sorted(k['track_id'] for k in faces.links) == [0, 1]
    assert min(k['similarity'] for k in faces.links) >= 0.8


def test_identical_copies_keep_their_sides(video):
    """The same picture twice (not mirrored): appearance cannot tell the
    faces apart; where each face left and came back does."""
    tool = load_script('tools', 'analysis', 'face_detector_eval.py')
    same = tool.PhotoVideo(80, size=(180, 320), photo_height=150,
                           gap=(30, 50), spread=30, mirror=False)
    faces = track_faces(same.reader())
    assert sorted(faces.tracks) == [0, 1] and len(faces.links) == 2
    for tid in (0, 1):
        assert _on_faces(same, faces, tid)
        sides = {bool((s.boxes[0][0] + s.boxes[0][2]) / 2 < 160)
                 for s in faces.tracks[tid]}
        assert sides == {tid == 0}


def test_without_reid_the_faces_come_back_as_new_tracks(video):
    faces = track_faces(video.reader(), reid_gap_seconds=None)
    assert len(faces.tracks) == 4 and faces.links == []


def test_haar_phantoms_are_not_confirmed(video):
    """Haar finds the faces too, and boxes that are no face; what it keeps
    as confirmed tracks is on the faces only."""
    faces = track_faces(video.reader(), 'HaarFaceDetector')
    for tid in faces.tracks:
        assert _on_faces(video, faces, tid)
    for d in faces.dropped:
        assert d['reason']


def test_timeline_rows_only_for_the_real_faces(tiny_s2d, video):
    tl = analyze_video(tiny_s2d[2], video.reader())
    assert sorted({r['track_id'] for r in tl.rows}) == [0, 1]
    for r in tl.rows:  # no window in the face-free gap
        assert r['frame_end'] < 30 or r['frame_start'] >= 50
    assert [t['segments'] for t in tl.tracks] == [[[0, 25], [50, 79]]] * 2
    assert tl.dropped_tracks == [] and len(tl.reid_links) == 2
    assert np.isclose(sum(tl.rows[0][c] for c in tl.classes), 1.0)


def test_main_track_is_the_face_seen_longest():
    from s2d_mm.video_analysis import FaceTrack, FaceTracks, main_track

    def seg(first, last):
        t = FaceTrack(0)
        for f in range(first, last + 1, 5):
            t.add(f, np.array([0, 0, 10, 10]), 1.)
        return t

    faces = FaceTracks(tracks={0: [seg(0, 20)], 1: [seg(0, 15), seg(40, 60)],
                               2: [seg(10, 40)]})
    assert main_track(faces) == 1  # 16 + 21 frames
    assert main_track(FaceTracks(tracks={})) is None
