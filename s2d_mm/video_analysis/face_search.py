"""Every face of a video, as confirmed tracks with an identity.

:func:`track_faces` runs a face detector every few frames, links the
detections into tracks (:class:`~.face_tracking.IoUFaceTracker`), keeps the
tracks that pass :func:`~.face_tracking.confirm_tracks` (the others are
listed with the reason) and gives a face that comes back after a gap the id
it had before when it looks the same
(:func:`~.face_tracking.link_reappearances`). The result gives boxes for
every frame of every track; :func:`main_track` picks the face seen longest.

Use::

    from s2d_mm.video_analysis import build_face_detector, track_faces
    faces = track_faces('interview.mp4', build_face_detector(None))
    for tid, segments in faces.tracks.items():
        boxes = faces.boxes(tid, range(segments[0].first_frame, 100))
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from .face_detectors import build_face_detector
from .face_tracking import (FaceTrack, IoUFaceTracker, appearance_descriptor,
                            confirm_tracks, link_reappearances)

__all__ = ['FaceTracks', 'track_faces', 'main_track']

#: smallest median score of a confirmed track, per detector: MTCNN's and
#: YuNet's are probabilities, Haar's the count of merged raw detections
DEFAULT_MIN_SCORE = {
    'MTCNNFaceDetector': 0.95, 'YuNetFaceDetector': 0.8,
    'MMDetFaceDetector': 0.5, 'HaarFaceDetector': 8.,
}


@dataclass
class FaceTracks:
    """What :func:`track_faces` found.

    Attributes:
        tracks (dict): track id -> its segments (:class:`FaceTrack`, in
            time order; several when the face came back after a gap), ids
            0, 1, ... in order of first appearance (left to right at the
            same frame).
        dropped (list[dict]): tracks not confirmed, with ``reason``.
        links (list[dict]): re-identifications made: ``track_id``,
            ``gap_frames``, ``similarity``.
        round_frames (list[int]): frames the detector ran on.
        rounds_with_face (int): rounds with at least one detection.
        detector (str): the detector's class name.
    """
    tracks: Dict[int, List[FaceTrack]]
    dropped: List[dict] = field(default_factory=list)
    links: List[dict] = field(default_factory=list)
    round_frames: List[int] = field(default_factory=list)
    rounds_with_face: int = 0
    detector: str = ''

    def segment_at(self, track_id: int, frame: int) -> FaceTrack:
        """The segment of a track covering ``frame`` (else the nearest)."""
        segments = self.tracks[track_id]
        for s in segments:
            if s.first_frame <= frame <= s.last_frame:
                return s
        return min(segments, key=lambda s: min(abs(frame - s.first_frame),
                                               abs(frame - s.last_frame)))

    def boxes(self, track_id: int, frames, smooth: int = 2) -> np.ndarray:
        """Smoothed face boxes ``(N, 4)`` (x1, y1, x2, y2) of a track at
        ``frames``, interpolated between detections."""
        frames = np.atleast_1d(np.asarray(list(frames) if not isinstance(
            frames, np.ndarray) else frames))
        return np.stack([self.segment_at(track_id, int(f)).box_at(
            int(f), smooth) for f in frames]).reshape(-1, 4)

    def track_info(self, track_id: int) -> dict:
        segments = self.tracks[track_id]
        dets = [d for s in segments for d in s.to_dict()['detections']]
        return dict(track_id=track_id, first_frame=segments[0].first_frame,
                    last_frame=segments[-1].last_frame,
                    segments=[[s.first_frame, s.last_frame]
                              for s in segments],
                    detections=dets)


def _detect_round(det, frame):
    if hasattr(det, 'detect'):
        boxes, scores = det.detect(frame)
    else:  # a plain callable frame -> boxes
        boxes, scores = np.asarray(det(frame), np.float32), None
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return boxes, scores, [appearance_descriptor(frame, b) for b in boxes]


def track_faces(video,
                detector=None,
                detect_every: int = 5,
                max_missed: int = 3,
                iou_thr: float = 0.3,
                min_frames: int = 1,
                min_track_seconds: float = 1.0,
                min_hit_share: float = 0.6,
                min_score: Optional[float] = None,
                min_size: float = 0.05,
                reid_gap_seconds: Optional[float] = 10.,
                reid_similarity: float = 0.8,
                fps: Optional[float] = None,
                chunk_size: int = 16,
                progress: bool = False) -> FaceTracks:
    """Detect, track, confirm and re-identify the faces of a video.

    Args:
        video (str | FrameReader | Sequence[np.ndarray]): the video.
        detector: a detector, its config or name (default MTCNN).
        detect_every (int): the detector runs every N-th frame and on the
            last one.
        max_missed (int): detection rounds a track may miss in a row.
        iou_thr (float): smallest IoU linking a detection to a track.
        min_frames (int): smallest track span in frames (e.g. a window).
        min_track_seconds (float): smallest track span in seconds.
        min_hit_share (float): share of its rounds a track must be seen in.
        min_score (float, optional): smallest median score; None: the
            detector's entry of :data:`DEFAULT_MIN_SCORE` (else 0).
        min_size (float): smallest median face side, as a fraction of the
            frame's shorter side.
        reid_gap_seconds (float, optional): longest gap bridged by
            re-identification; None or 0 turns it off.
        reid_similarity (float): smallest appearance similarity to link.
        fps (float, optional): frame rate of sources without one.
        chunk_size (int): frames decoded at a time.
        progress (bool): show a progress bar.
    """
    from s2d_mm.apis.video_reader import open_video
    reader = open_video(video)
    n = reader.num_frames
    fps = float(fps or reader.fps or 25.0)
    det = build_face_detector(detector)
    name = type(det).__name__
    tracker = IoUFaceTracker(iou_thr=iou_thr, max_missed=max_missed)
    rounds = sorted(set(range(0, n, max(1, detect_every))) | {n - 1})
    bar = None
    if progress and rounds:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(rounds))
    short_side = None
    for f, frame in reader.iter_frames(rounds, chunk_size):
        short_side = short_side or min(frame.shape[:2])
        tracker.update(f, *_detect_round(det, frame))
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    if min_score is None:
        min_score = DEFAULT_MIN_SCORE.get(name, 0.)
    kept, dropped = confirm_tracks(
        tracker.tracks(), rounds,
        min_frames=max(min_frames, int(np.ceil(min_track_seconds * fps))),
        min_hit_share=min_hit_share, min_score=min_score,
        min_side=min_size * (short_side or 0))
    gap = int(round((reid_gap_seconds or 0) * fps))
    groups, links = link_reappearances(kept, gap, reid_similarity) \
        if gap > 0 else ([[t] for t in kept], [])
    group_of = {id(s): k for k, g in enumerate(groups) for s in g}
    for link in links:  # indices into ``kept`` -> the id of the group
        link['track_id'] = group_of[id(kept[link.pop('track')])]
        link.pop('previous')
    return FaceTracks(
        tracks={k: g for k, g in enumerate(groups)}, dropped=dropped,
        links=links, round_frames=list(rounds),
        rounds_with_face=tracker.num_rounds_with_face, detector=name)


def main_track(faces: FaceTracks) -> Optional[int]:
    """Id of the face seen longest (most frames spanned by its segments,
    then most detections); None when there is none."""
    if not faces.tracks:
        return None
    return max(faces.tracks, key=lambda k: (
        sum(s.num_frames for s in faces.tracks[k]),
        sum(len(s.frames) for s in faces.tracks[k]), -k))
