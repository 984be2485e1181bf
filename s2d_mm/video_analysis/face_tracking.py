"""Linking face detections over a video into tracks (one per person).

Detections come every few frames (the detector is the costly part);
:class:`IoUFaceTracker` links them frame to frame by the overlap (IoU)
between each live track's predicted box (constant velocity from its last
two detections) and the new detections, one-to-one (Hungarian assignment,
:func:`scipy.optimize.linear_sum_assignment`). A track missed by
``max_missed`` detection rounds in a row ends; a face that comes back later
starts a new track, while shorter gaps are bridged (the detector missed, or
the face was briefly hidden). :class:`FaceTrack` smooths the detected boxes
and interpolates them to every frame of its span.
"""
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ['FaceTrack', 'IoUFaceTracker', 'box_iou']


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` ``(N, 4)`` and ``b`` ``(M, 4)`` (x1, y1, x2, y2)
    -> ``(N, M)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.)


@dataclass
class FaceTrack:
    """One face followed over time.

    Attributes:
        track_id (int): 0, 1, ... in order of appearance.
        frames (list[int]): detection frames where the face was found.
        boxes (list[np.ndarray]): its detected box ``(4, )`` at each.
        scores (list[float]): the detector's score at each.
        missed (int): detection rounds missed in a row (while live).
    """
    track_id: int
    frames: List[int] = field(default_factory=list)
    boxes: List[np.ndarray] = field(default_factory=list)
    scores: List[float] = field(default_factory=list)
    missed: int = 0
    _smoothed: Optional[tuple] = field(default=None, repr=False)

    @property
    def first_frame(self) -> int:
        return self.frames[0]

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    @property
    def num_frames(self) -> int:
        """Frames spanned, first to last detection inclusive."""
        return self.last_frame - self.first_frame + 1

    def add(self, frame: int, box: np.ndarray, score: float) -> None:
        self.frames.append(int(frame))
        self.boxes.append(np.asarray(box, np.float32).reshape(4))
        self.scores.append(float(score))
        self.missed = 0
        self._smoothed = None

    def predict(self, frame: int) -> np.ndarray:
        """Box expected at ``frame``: the last box moved at the velocity of
        the last two detections (the last box when there is one)."""
        last = self.boxes[-1]
        if len(self.boxes) < 2 or self.frames[-1] == self.frames[-2]:
            return last
        velocity = (last - self.boxes[-2]) / (self.frames[-1] -
                                              self.frames[-2])
        return last + velocity * (frame - self.frames[-1])

    def smoothed_boxes(self, radius: int = 2) -> np.ndarray:
        """Detected boxes ``(N, 4)`` averaged over ``2 * radius + 1``
        neighbouring detections (fewer at the ends): detectors jitter by a
        few pixels from frame to frame, faces move smoothly."""
        if self._smoothed is None or self._smoothed[0] != radius:
            boxes = np.stack(self.boxes).astype(np.float64)
            out = np.empty_like(boxes)
            for i in range(len(boxes)):
                lo, hi = max(0, i - radius), min(len(boxes), i + radius + 1)
                out[i] = boxes[lo:hi].mean(0)
            self._smoothed = (radius, out.astype(np.float32))
        return self._smoothed[1]

    def box_at(self, frames, radius: int = 2) -> np.ndarray:
        """Smoothed box at any frame(s) of the span, linearly interpolated
        between detections (held constant outside the span).

        Returns:
            np.ndarray: ``(4, )`` for one frame, ``(N, 4)`` for several.
        """
        scalar = np.ndim(frames) == 0
        f = np.atleast_1d(np.asarray(frames, np.float64))
        smooth = self.smoothed_boxes(radius)
        det = np.asarray(self.frames, np.float64)
        out = np.stack([np.interp(f, det, smooth[:, k]) for k in range(4)],
                       axis=-1).astype(np.float32)
        return out[0] if scalar else out

    def to_dict(self) -> dict:
        return dict(
            track_id=self.track_id,
            first_frame=self.first_frame,
            last_frame=self.last_frame,
            detections=[[f] + [round(float(v), 2) for v in b] +
                        [round(s, 4)]
                        for f, b, s in zip(self.frames, self.boxes,
                                           self.scores)])


class IoUFaceTracker:
    """Online IoU tracker over detection rounds.

    Args:
        iou_thr (float): smallest IoU between a track's predicted box and a
            detection to link them.
        max_missed (int): K; a track that no detection matched in K rounds
            in a row ends (gaps of up to K - 1 rounds are bridged).

    Use::

        tracker = IoUFaceTracker()
        for frame_idx, frame in frames_to_detect:
            boxes, scores = detector.detect(frame)
            tracker.update(frame_idx, boxes, scores)
        tracks = tracker.tracks(min_frames=window_span)
    """

    def __init__(self, iou_thr: float = 0.3, max_missed: int = 3):
        if max_missed < 1:
            raise ValueError(f'max_missed must be >= 1, got {max_missed}')
        self.iou_thr = iou_thr
        self.max_missed = max_missed
        self.live: List[FaceTrack] = []
        self.ended: List[FaceTrack] = []
        self._next_id = 0
        self.num_rounds = 0
        self.num_rounds_with_face = 0

    def update(self, frame: int, boxes: np.ndarray,
               scores: Optional[np.ndarray] = None) -> List[int]:
        """Link the detections of one round; returns the track id of each
        box."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if scores is None:
            scores = np.ones(len(boxes), np.float32)
        self.num_rounds += 1
        self.num_rounds_with_face += int(len(boxes) > 0)
        ids = [-1] * len(boxes)
        matched = set()
        if self.live and len(boxes):
            pred = np.stack([t.predict(frame) for t in self.live])
            iou = box_iou(pred, boxes)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_thr:
                    self.live[r].add(frame, boxes[c], scores[c])
                    ids[c] = self.live[r].track_id
                    matched.add(r)
        still = []
        for r, track in enumerate(self.live):
            if r not in matched:
                track.missed += 1
            (self.ended if track.missed >= self.max_missed else
             still).append(track)
        self.live = still
        # faces appearing together are numbered left to right
        for c in sorted(range(len(boxes)), key=lambda c: boxes[c, 0]):
            if ids[c] < 0:
                track = FaceTrack(self._next_id)
                self._next_id += 1
                track.add(frame, boxes[c], scores[c])
                self.live.append(track)
                ids[c] = track.track_id
        return ids

    def tracks(self, min_frames: int = 1) -> List[FaceTrack]:
        """All tracks (ended and live) spanning at least ``min_frames``
        frames, by id."""
        every = sorted(self.ended + self.live, key=lambda t: t.track_id)
        return [t for t in every if t.num_frames >= min_frames]
