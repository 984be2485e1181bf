"""Linking face detections over a video into tracks (one per person).

Detections come every few frames (the detector is the costly part);
:class:`IoUFaceTracker` links them frame to frame by the overlap (IoU)
between each live track's predicted box (constant velocity from its last
two detections) and the new detections, one-to-one (Hungarian assignment,
:func:`scipy.optimize.linear_sum_assignment`). A track missed by
``max_missed`` detection rounds in a row ends; shorter gaps are bridged (the
detector missed, or the face was briefly hidden). :class:`FaceTrack` smooths
the detected boxes and interpolates them to every frame of its span.

Two steps after tracking decide which tracks are faces and who they are:

- :func:`confirm_tracks`: a track gets rows only when it was detected in a
  minimum share of the detection rounds of its span, with a minimum median
  score and size, for a minimum time; the others are returned with the
  reason (a detector's false positives flicker, score low or are short);
- :func:`link_reappearances`: a face that comes back after a longer gap
  starts a new track; it is given the id of an earlier track that ended
  before it started when their faces look alike (cosine similarity of
  :func:`appearance_descriptor`, one-to-one by Hungarian assignment).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ['FaceTrack', 'IoUFaceTracker', 'box_iou', 'appearance_descriptor',
           'confirm_tracks', 'link_reappearances']


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
    descriptors: List[np.ndarray] = field(default_factory=list, repr=False)
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

    def add(self, frame: int, box: np.ndarray, score: float,
            descriptor: Optional[np.ndarray] = None) -> None:
        if descriptor is not None:
            self.descriptors.append(descriptor)
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
        self.round_frames: List[int] = []

    def update(self, frame: int, boxes: np.ndarray,
               scores: Optional[np.ndarray] = None,
               descriptors: Optional[Sequence[np.ndarray]] = None
               ) -> List[int]:
        """Link the detections of one round (with their appearance
        descriptors, optional); returns the track id of each box."""
        self.round_frames.append(int(frame))
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if descriptors is None:
            descriptors = [None] * len(boxes)
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
                    self.live[r].add(frame, boxes[c], scores[c],
                                     descriptors[c])
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
                track.add(frame, boxes[c], scores[c], descriptors[c])
                self.live.append(track)
                ids[c] = track.track_id
        return ids

    def tracks(self, min_frames: int = 1) -> List[FaceTrack]:
        """All tracks (ended and live) spanning at least ``min_frames``
        frames, by id."""
        every = sorted(self.ended + self.live, key=lambda t: t.track_id)
        return [t for t in every if t.num_frames >= min_frames]


def appearance_descriptor(frame: np.ndarray, box: np.ndarray,
                          size: int = 16) -> np.ndarray:
    """What a face looks like, for re-identification: the central part of
    its box (brows to chin, cheek to cheek, little background) in
    grey-levels at ``size x size``, then a 4x4x4 colour histogram; each part
    zero-mean and unit-norm, concatenated and scaled to unit norm
    (``(size * size + 64, )`` float32). Grey-levels keep the face's layout
    (a mirrored face differs), the histogram its skin and hair colours."""
    x1, y1, x2, y2 = np.asarray(box, np.float64)
    w, h = x2 - x1, y2 - y1
    x1, x2 = x1 + 0.15 * w, x2 - 0.15 * w
    y1, y2 = y1 + 0.1 * h, y2 - 0.05 * h
    fh, fw = frame.shape[:2]
    xa, xb = int(np.clip(round(x1), 0, fw - 1)), int(np.clip(round(x2), 1, fw))
    ya, yb = int(np.clip(round(y1), 0, fh - 1)), int(np.clip(round(y2), 1, fh))
    crop = frame[ya:max(yb, ya + 1), xa:max(xb, xa + 1)]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 \
        else crop
    grey = cv2.resize(grey, (size, size),
                      interpolation=cv2.INTER_AREA).astype(np.float32)
    colour = crop.reshape(-1, crop.shape[-1] if crop.ndim == 3 else 1)
    hist = np.histogramdd(colour[:, :3] // 64, bins=(4, ) * 3,
                          range=[(0, 4)] * 3)[0] if colour.shape[1] >= 3 \
        else np.histogram(colour, 64, (0, 256))[0]
    parts = []
    for part in (grey.ravel(), np.sqrt(hist.ravel().astype(np.float32))):
        part = part - part.mean()
        parts.append(part / max(float(np.linalg.norm(part)), 1e-6))
    out = np.concatenate(parts)
    return (out / np.linalg.norm(out)).astype(np.float32)


def _median_side(track: FaceTrack) -> float:
    b = np.stack(track.boxes)
    return float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))


def confirm_tracks(tracks: Sequence[FaceTrack],
                   round_frames: Sequence[int],
                   min_frames: int = 1,
                   min_hit_share: float = 0.6,
                   min_score: float = 0.,
                   min_side: float = 0.
                   ) -> Tuple[List[FaceTrack], List[dict]]:
    """Split tracks into confirmed faces and dropped ones.

    Args:
        tracks (Sequence[FaceTrack]): from :meth:`IoUFaceTracker.tracks`.
        round_frames (Sequence[int]): the frames the detector ran on.
        min_frames (int): smallest span, first to last detection.
        min_hit_share (float): smallest share of the detection rounds of
            its span in which the track was detected.
        min_score (float): smallest median detector score.
        min_side (float): smallest median face side in pixels.

    Returns:
        tuple: the confirmed tracks and, per dropped track, a dict with its
        span, figures and ``reason`` (the first test it failed).
    """
    rounds = np.asarray(sorted(round_frames))
    kept, dropped = [], []
    for t in tracks:
        in_span = int(((rounds >= t.first_frame) &
                       (rounds <= t.last_frame)).sum())
        share = len(t.frames) / max(1, in_span)
        score = float(np.median(t.scores))
        side = _median_side(t)
        reason = None
        if t.num_frames < min_frames:
            reason = f'shorter than {min_frames} frames'
        elif share < min_hit_share:
            reason = (f'detected in {share:.0%} of its detection rounds '
                      f'(< {min_hit_share:.0%})')
        elif score < min_score:
            reason = f'median score {score:.3g} < {min_score:.3g}'
        elif side < min_side:
            reason = f'median face side {side:.0f} px < {min_side:.0f} px'
        if reason is None:
            kept.append(t)
        else:
            dropped.append(dict(
                first_frame=t.first_frame, last_frame=t.last_frame,
                detections=len(t.frames), hit_share=round(share, 3),
                median_score=round(score, 4), median_side=round(side, 1),
                reason=reason))
    return kept, dropped


def _track_descriptor(track: FaceTrack, last: bool, k: int = 5):
    d = track.descriptors[-k:] if last else track.descriptors[:k]
    if not d:
        return None
    v = np.mean(d, axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-6)


def _moved(prev: FaceTrack, new: FaceTrack) -> float:
    """Distance from where ``prev`` was last seen to where ``new`` was
    first seen, in face sides (at most 10)."""
    a, b = prev.boxes[-1], new.boxes[0]
    side = max(float(a[2] - a[0]), float(a[3] - a[1]), 1.)
    d = np.linalg.norm((a[:2] + a[2:]) / 2 - (b[:2] + b[2:]) / 2)
    return min(float(d) / side, 10.)


def link_reappearances(tracks: Sequence[FaceTrack],
                       max_gap_frames: int,
                       min_similarity: float = 0.8
                       ) -> Tuple[List[List[FaceTrack]], List[dict]]:
    """Group tracks (in order of appearance) into identities: a track that
    starts after another one ended (at most ``max_gap_frames`` later)
    continues it when the first detections of the one look like the last
    ones of the other (cosine similarity of the mean
    :func:`appearance_descriptor` of five detections >=
    ``min_similarity``); among several candidates the assignment is
    one-to-one and maximises the total similarity, less a small penalty
    for the distance between where the face left and where it came back
    (0.01 per face side, at most 0.1), which only decides between faces
    that look alike (two copies of one picture, twins in the same clothes).

    Returns:
        tuple: identities (lists of tracks in time order), numbered by
        their first appearance, and the links made (``previous`` and
        ``track``: indices into ``tracks``; ``gap_frames``, ``similarity``).
    """
    order = sorted(range(len(tracks)),
                   key=lambda i: (tracks[i].first_frame, i))
    # tracks starting on the same frame are assigned together, one-to-one
    identities = [[i] for i in order]
    where = {i: k for k, i in enumerate(order)}
    made = []
    starts = sorted({tracks[i].first_frame for i in order})
    for start in starts:
        new = [i for i in order if tracks[i].first_frame == start]
        old = [k for k, ident in enumerate(identities)
               if ident and tracks[ident[-1]].last_frame < start <=
               tracks[ident[-1]].last_frame + max_gap_frames]
        if not new or not old:
            continue
        sim = np.full((len(old), len(new)), -1.)
        moved = np.zeros_like(sim)
        firsts = [_track_descriptor(tracks[i], last=False) for i in new]
        for a, k in enumerate(old):
            prev = tracks[identities[k][-1]]
            da = _track_descriptor(prev, last=True)
            for b, (i, db) in enumerate(zip(new, firsts)):
                if da is not None and db is not None:
                    sim[a, b] = float(da @ db)
                moved[a, b] = _moved(prev, tracks[i])
        rows, cols = linear_sum_assignment(-(sim - 0.01 * moved))
        for a, b in zip(rows, cols):
            if sim[a, b] >= min_similarity:
                k, i = old[a], new[b]
                made.append(dict(
                    previous=identities[k][-1], track=i,
                    gap_frames=tracks[i].first_frame -
                    tracks[identities[k][-1]].last_frame - 1,
                    similarity=round(float(sim[a, b]), 4)))
                identities[k].append(i)
                identities[where[i]] = []
                where[i] = k
    groups = [[tracks[i] for i in ident] for ident in identities if ident]
    groups.sort(key=lambda g: g[0].first_frame)
    return groups, made
