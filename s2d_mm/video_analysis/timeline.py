"""Emotion timeline of a whole video: every face, window by window.

:func:`analyze_video` slides the model's window (its T frames at the frame
interval of its training pipeline) over the video with a stride (0.5 s by
default) and classifies every window of every face track:

1. **faces** -- the detector runs every ``detect_every`` frames (and on the
   last frame); :class:`~s2d_mm.video_analysis.face_tracking.IoUFaceTracker` links
   the detections into tracks; tracks shorter than one window are dropped;
2. **windows** -- each track gets the windows that fit in its span (the
   last one aligned with the track's end, so the rows cover the span);
3. **frames** -- only the frames some window uses are decoded, in one
   forward pass over the video (:mod:`s2d_mm.apis.video_reader`); each is
   cropped per track with the track's smoothed box, prepared by the
   config's test pipeline (the steps after decoding) and the model's data
   preprocessor, and sent **once** through the landmark branch; the
   overlapping windows that contain the frame reuse its landmark features
   (``S2DViT.forward(x, landmark_feat=...)``);
4. **model** -- complete windows are classified in batches; a frame's
   tensors are freed as soon as no later window of its track needs them, so
   at most about one window span per track is held, whatever the length of
   the video.

The result (:class:`VideoTimeline`) has one row per window and track with
``track_id, t_start, t_end, t_center, frame_start, frame_end``, one
probability column per class and ``top_class``; :meth:`VideoTimeline.to_csv`
and :meth:`VideoTimeline.to_json` write it. ``t_start`` is the time of the
window's first frame, ``t_end`` the end of its last frame
(``(frame_end + 1) / fps``).
"""
import copy
import csv
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from .face_crop import NoFaceFoundError, crop_frame, square_box
from .face_detectors import build_face_detector
from .face_tracking import FaceTrack, IoUFaceTracker
# s2d_mm.apis.inference imports this package's face crop: bound as a module,
# it is complete by the time a function here runs, whichever package was
# imported first
from s2d_mm.apis import inference as inference_api
from s2d_mm.apis.video_reader import FrameReader, open_video

__all__ = [
    'analyze_video', 'VideoTimeline', 'model_frame_interval',
    'window_starts', 'TIMELINE_COLUMNS'
]

#: the columns before the per-class probabilities
TIMELINE_COLUMNS = ('track_id', 't_start', 't_end', 't_center',
                    'frame_start', 'frame_end')


def model_frame_interval(model: nn.Module) -> int:
    """Frame interval of the model's training clips: ``frame_interval`` of
    the ``SampleFrames`` step of its training pipeline (else the test
    pipeline's; 1 when neither has one)."""
    cfg = model.cfg
    candidates = [cfg.get('train_pipeline'), cfg.get('test_pipeline')]
    for key in ('train_dataloader', 'test_dataloader'):
        loader = cfg.get(key) or {}
        candidates.append((loader.get('dataset') or {}).get('pipeline'))
    for pipeline in candidates:
        for step in pipeline or []:
            if 'clip_len' in step and 'frame_interval' in step:
                return max(1, int(step['frame_interval']))
    return 1


def window_starts(first: int, last: int, span: int, stride: int
                  ) -> List[int]:
    """Start frames of the windows of ``span`` frames in ``[first, last]``
    every ``stride`` frames; the last window ends on ``last`` so the
    windows cover the range. Empty when the range is shorter than a
    window."""
    if last - first + 1 < span:
        return []
    starts = list(range(first, last - span + 2, max(1, stride)))
    if starts[-1] + span - 1 < last:
        starts.append(last - span + 1)
    return starts


@dataclass
class VideoTimeline:
    """What :func:`analyze_video` found.

    Attributes:
        source (str): the video.
        fps (float): frame rate used for the times.
        num_frames (int): frames of the video.
        classes (list[str]): class names, the probability columns.
        rows (list[dict]): one per window and track, sorted by track then
            time (keys: :data:`TIMELINE_COLUMNS`, the classes,
            ``top_class``).
        tracks (list[dict]): per kept track: ``track_id``, ``first_frame``,
            ``last_frame``, ``detections`` (``[frame, x1, y1, x2, y2,
            score]``); ``crop_box(track_id, frame)`` gives the crop.
        window (dict): ``num_frames`` (T), ``frame_interval``,
            ``span_frames``, ``stride_frames``, ``stride_s``.
        thumbnails (dict): track id -> list of ``(frame, BGR crop)``.
        stats (dict): windows, seconds, ``windows_per_s``, frames decoded,
            ``peak_frames_held`` (frame tensors alive at once), detection
            rounds.
    """
    source: str
    fps: float
    num_frames: int
    classes: List[str]
    rows: List[dict]
    tracks: List[dict]
    window: dict
    detector: str
    thumbnails: Dict[int, list] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    _tracks: Dict[int, Optional[FaceTrack]] = field(
        default_factory=dict, repr=False)
    _enlarge: float = 1.3
    _smooth: int = 2

    @property
    def columns(self) -> List[str]:
        return list(TIMELINE_COLUMNS) + list(self.classes) + ['top_class']

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def crop_box(self, track_id: int, frame) -> Optional[np.ndarray]:
        """Square crop box(es) of a track at frame(s); None for the whole
        frame (``detect=False``)."""
        track = self._tracks[track_id]
        if track is None:
            return None
        return square_box(track.box_at(frame, self._smooth), self._enlarge)

    def face_box(self, track_id: int, frame) -> Optional[np.ndarray]:
        """Smoothed face box(es) of a track at frame(s), interpolated
        between detections; None for the whole frame."""
        track = self._tracks[track_id]
        return None if track is None else track.box_at(frame, self._smooth)

    def rows_of(self, track_id: int) -> List[dict]:
        return [r for r in self.rows if r['track_id'] == track_id]

    def probs(self, track_id: int) -> np.ndarray:
        """``(num_windows, C)`` probabilities of one track."""
        return np.array([[r[c] for c in self.classes]
                         for r in self.rows_of(track_id)]).reshape(
                             -1, len(self.classes))

    def to_csv(self, path: str) -> str:
        _makedirs_for(path)
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({
                    k: (f'{v:.6f}' if k in self.classes else
                        f'{v:.3f}' if k.startswith('t_') else v)
                    for k, v in row.items()
                })
        return path

    def to_json(self, path: str) -> str:
        _makedirs_for(path)
        data = dict(
            source=self.source, fps=self.fps, num_frames=self.num_frames,
            duration_s=round(self.duration, 3), classes=self.classes,
            columns=self.columns, window=self.window,
            detector=self.detector, tracks=self.tracks,
            stats=self.stats, rows=self.rows)
        with open(path, 'w') as f:
            json.dump(data, f, indent=1)
        return path


def _makedirs_for(path: str) -> None:
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)


class _TrackWindows:
    """Windows of one track and the prepared frames they still need."""

    def __init__(self, track_id: int, track: Optional[FaceTrack],
                 windows: List[np.ndarray]):
        self.track_id = track_id
        self.track = track
        self.windows = windows
        self.next = 0  # first window not yet queued
        # frame -> (frame tensor (V, 3, H, W), landmark map (V, C, h, w))
        self.buffer: Dict[int, tuple] = {}

    def ready(self, done_frame: int):
        """Windows whose frames are all prepared, in order; frees the
        frames no later window needs."""
        out = []
        while self.next < len(self.windows) and \
                self.windows[self.next][-1] <= done_frame:
            out.append(self.windows[self.next])
            self.next += 1
        if out:
            keep_from = (self.windows[self.next][0]
                         if self.next < len(self.windows) else np.inf)
            stack = [(self._stack(w), w) for w in out]
            for f in [f for f in self.buffer if f < keep_from]:
                del self.buffer[f]
            return stack
        return []

    def _stack(self, frames: np.ndarray):
        x = torch.stack([self.buffer[int(f)][0] for f in frames], dim=2)
        lm = self.buffer[int(frames[0])][1]
        if lm is not None:
            lm = torch.stack([self.buffer[int(f)][1] for f in frames], dim=1)
        return x, lm  # (V, 3, T, H, W), (V, T, C, h, w)


class _FramePreparer:
    """Crops -> model-ready frame tensors and landmark features, batched."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.pipeline = Compose(
            inference_api._post_decode_pipeline(model.cfg.test_pipeline))
        backbone = model.backbone
        self.landmark = getattr(backbone, 'landmark', None)
        self.num_landmark_runs = 0

    @torch.no_grad()
    def __call__(self, crops_bgr: Sequence[np.ndarray]):
        samples = []
        for crop in crops_bgr:
            h, w = crop.shape[:2]
            samples.append(self.pipeline(dict(
                imgs=[np.ascontiguousarray(crop[..., ::-1])],
                original_shape=(h, w), img_shape=(h, w), modality='RGB',
                num_clips=1, clip_len=1, frame_interval=1,
                frame_inds=np.arange(1), total_frames=1, start_index=0)))
        batch = self.model.data_preprocessor(pseudo_collate(samples),
                                             training=False)
        x = batch['inputs']  # (N, V, 3, 1, H, W), normalised
        if x.dim() != 6 or x.shape[3] != 1:
            raise ValueError(
                'the test pipeline must give NCTHW clips (FormatShape '
                f"input_format='NCTHW'), got inputs {tuple(x.shape)}")
        x = x[:, :, :, 0]  # (N, V, 3, H, W)
        lm = None
        if self.landmark is not None:
            n, v = x.shape[:2]
            lm = self.landmark(x.flatten(0, 1))
            lm = lm.view((n, v) + lm.shape[1:])
            self.num_landmark_runs += n * v
        return x, lm


@torch.no_grad()
def _classify(model: nn.Module, xs: List[torch.Tensor],
              lms: List[Optional[torch.Tensor]]) -> np.ndarray:
    """Windows ``(V, 3, T, H, W)`` (+ landmark ``(V, T, C, h, w)``) ->
    probabilities ``(B, C)`` averaged over the V views."""
    x = torch.stack(xs)  # (B, V, 3, T, H, W)
    b, v = x.shape[:2]
    kwargs = {}
    if lms[0] is not None:
        # (B, V, T, C, h, w) -> (B*V*T, C, h, w): clip-major, as S2DViT
        # folds (B*V, 3, T, H, W)
        kwargs['landmark_feat'] = torch.stack(lms).flatten(0, 2)
    feats = model.backbone(x.flatten(0, 1), **kwargs)
    if getattr(model, 'with_neck', False):
        feats, _ = model.neck(feats)
    head = model.cls_head
    scores = head.average_clip(head(feats), num_segs=v)
    if getattr(head, 'average_clips', None) != 'prob':
        scores = scores.softmax(-1)
    probs = scores.float().cpu().numpy().astype(np.float64)
    return probs / probs.sum(1, keepdims=True)


def _progress(total: int, enabled: bool):
    if not enabled or total <= 0:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total)


def analyze_video(model: nn.Module,
                  video: Union[str, Sequence[np.ndarray], FrameReader],
                  stride: float = 0.5,
                  window: Optional[float] = None,
                  detect: bool = True,
                  detector=None,
                  detect_every: int = 5,
                  max_missed: int = 3,
                  iou_thr: float = 0.3,
                  smooth: int = 2,
                  enlarge: float = 1.3,
                  batch_size: int = 8,
                  fps: Optional[float] = None,
                  num_thumbnails: int = 8,
                  thumbnail_size: int = 64,
                  chunk_size: int = 16,
                  backend: str = 'opencv',
                  progress: bool = False) -> VideoTimeline:
    """Classify every window of every face of a video.

    Args:
        model (nn.Module): from :func:`~s2d_mm.apis.init_model`.
        video (str | Sequence[np.ndarray] | FrameReader): video file,
            frame folder, BGR frames or a reader.
        stride (float): seconds between window starts.
        window (float, optional): seconds one window spans; its T frames
            are then spread evenly over it. None: T frames at the frame
            interval of the model's training pipeline.
        detect (bool): find and track faces; False treats every frame as
            one face crop (track 0).
        detector: a face detector, a config dict or name of a registered
            one (:func:`~s2d_mm.video_analysis.face_detectors.build_face_detector`);
            None: OpenCV's Haar cascade.
        detect_every (int): N; the detector runs on every N-th frame (and
            the last one).
        max_missed (int): K; a track missed by K detection rounds in a row
            ends; shorter gaps are bridged by interpolating its box.
        iou_thr (float): smallest IoU linking a detection to a track.
        smooth (int): a track's boxes are averaged over ``2 * smooth + 1``
            detections.
        enlarge (float): crop side relative to the face box.
        batch_size (int): windows per forward pass.
        fps (float, optional): frame rate; needed for sources without one
            (frame folders, arrays: 25 is assumed otherwise).
        num_thumbnails (int): face crops kept per track for the plot.
        thumbnail_size (int): their side in pixels.
        chunk_size (int): frames decoded at a time.
        backend (str): decoder of video files, ``'opencv'`` (default),
            ``'decord'`` or ``'auto'`` (see ``open_video``). Both passes go
            forward through the video and use much of it, which OpenCV's
            sequential decoding does in constant memory; with decord and
            the Haar detector in one process the resident memory was seen
            to grow with the video's length (about 5 MiB per second of a
            25-fps 480x240 video).
        progress (bool): show progress bars (detection, then windows).

    Returns:
        VideoTimeline: rows, tracks, thumbnails and stats.

    Raises:
        NoFaceFoundError: ``detect`` is on and no track lasts one window.
    """
    cfg = model.cfg
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model.eval()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    reader = open_video(video, backend=backend)
    n = reader.num_frames
    fps = float(fps or reader.fps or 25.0)
    num_t = inference_api.model_num_frames(model)
    if window is None:
        interval = model_frame_interval(model)
    else:
        interval = max(1, int(round(window * fps / num_t)))
    span = (num_t - 1) * interval + 1
    stride_frames = max(1, int(round(stride * fps)))
    classes = inference_api._class_names(model, int(model.cls_head.num_classes))
    clash = set(classes) & set(TIMELINE_COLUMNS + ('top_class', ))
    if clash:
        raise ValueError(f'class names {sorted(clash)} clash with the '
                         'timeline columns')

    # 1. faces -> tracks
    det_name = 'none (whole frames)'
    rounds = 0
    if detect:
        det = build_face_detector(detector)
        det_name = type(det).__name__
        tracker = IoUFaceTracker(iou_thr=iou_thr, max_missed=max_missed)
        det_frames = sorted(set(range(0, n, max(1, detect_every))) | {n - 1})
        bar = _progress(len(det_frames), progress)
        for f, frame in reader.iter_frames(det_frames, chunk_size):
            if hasattr(det, 'detect'):
                boxes, scores = det.detect(frame)
            else:
                boxes, scores = det(frame), None
            tracker.update(f, boxes, scores)
            if bar is not None:
                bar.update()
        if bar is not None:
            print()
        rounds = tracker.num_rounds
        found = tracker.tracks(min_frames=span)
        if not found:
            raise NoFaceFoundError(
                f'no face found in {reader.source}: faces were detected in '
                f'{tracker.num_rounds_with_face} of {tracker.num_rounds} '
                f'probed frames, and no face track lasts one window '
                f'({span} frames = {span / fps:.2f} s)')
        # ids 0, 1, ... over the kept tracks, in order of appearance
        tracks = {i: t for i, t in enumerate(found)}
    else:
        tracks = {0: None}

    states = []
    for tid, track in tracks.items():
        first, last = (0, n - 1) if track is None else \
            (track.first_frame, track.last_frame)
        starts = window_starts(first, last, span, stride_frames)
        if not starts:  # detect=False on a clip shorter than one window
            starts = [first]
        wins = [np.minimum(s + interval * np.arange(num_t), last)
                for s in starts]
        states.append(_TrackWindows(tid, track, wins))

    # 2. frames -> landmark features -> windows -> probabilities
    needed: Dict[int, List[_TrackWindows]] = {}
    for st in states:
        for f in sorted({int(f) for w in st.windows for f in w}):
            needed.setdefault(f, []).append(st)
    thumb_frames = {}
    for st in states:
        used = sorted({int(f) for w in st.windows for f in w})
        pick = np.linspace(0, len(used) - 1, min(num_thumbnails, len(used)))
        thumb_frames[st.track_id] = {used[int(round(i))] for i in pick}
    thumbnails = {st.track_id: [] for st in states}
    prepare = _FramePreparer(model)
    rows: List[dict] = []
    queue: List[tuple] = []
    pending: List[tuple] = []
    peak = 0
    num_windows = 0

    def run_queue(force: bool) -> None:
        nonlocal num_windows
        while queue and (force or len(queue) >= batch_size):
            chunk, queue[:] = queue[:batch_size], queue[batch_size:]
            probs = _classify(model, [c[1] for c in chunk],
                              [c[2] for c in chunk])
            for (tid, _, _, frames), p in zip(chunk, probs):
                fs, fe = int(frames[0]), int(frames[-1])
                row = dict(track_id=tid, t_start=fs / fps,
                           t_end=(fe + 1) / fps,
                           t_center=(fs + fe + 1) / 2 / fps,
                           frame_start=fs, frame_end=fe)
                row.update({c: float(v) for c, v in zip(classes, p)})
                row['top_class'] = classes[int(p.argmax())]
                rows.append(row)
            num_windows += len(chunk)

    def flush(done_frame: int) -> None:
        nonlocal peak
        if pending:
            x, lm = prepare([p[2] for p in pending])
            for k, (st, f, _) in enumerate(pending):
                st.buffer[f] = (x[k], None if lm is None else lm[k])
            pending.clear()
        peak = max(peak, sum(len(st.buffer) for st in states))
        for st in states:
            for (xw, lmw), frames in st.ready(done_frame):
                queue.append((st.track_id, xw, lmw, frames))
        run_queue(force=False)

    t_model = time.perf_counter()
    bar = _progress(len(needed), progress)
    for f, frame in reader.iter_frames(sorted(needed), chunk_size):
        for st in needed[f]:
            box = None if st.track is None else square_box(
                st.track.box_at(f, smooth), enlarge)
            crop = frame if box is None else crop_frame(frame, box)
            pending.append((st, f, crop))
            if f in thumb_frames[st.track_id]:
                thumbnails[st.track_id].append(
                    (f, crop_frame(crop, (0, 0) + crop.shape[1::-1],
                                   thumbnail_size)))
        if len(pending) >= chunk_size:
            flush(f)
        peak = max(peak, len(pending) + sum(len(s.buffer) for s in states))
        if bar is not None:
            bar.update()
    flush(n)
    run_queue(force=True)
    if bar is not None:
        print()
    reader.close()
    seconds = time.perf_counter() - t_model
    rows.sort(key=lambda r: (r['track_id'], r['frame_start']))
    track_info = []
    for tid, track in tracks.items():
        info = dict(track_id=tid, first_frame=0, last_frame=n - 1,
                    detections=[]) if track is None else track.to_dict()
        info['track_id'] = tid
        info['num_windows'] = sum(r['track_id'] == tid for r in rows)
        track_info.append(info)
    stats = dict(
        num_windows=num_windows,
        num_tracks=len(tracks),
        detection_rounds=rounds,
        frames_decoded=reader.num_decoded,
        landmark_frames=prepare.num_landmark_runs,
        peak_frames_held=peak,
        model_seconds=round(seconds, 3),
        total_seconds=round(time.perf_counter() - t0, 3),
        cpu_seconds=round(time.process_time() - cpu0, 3),
        windows_per_s=round(num_windows / max(seconds, 1e-9), 3))
    return VideoTimeline(
        source=reader.source, fps=fps, num_frames=n, classes=classes,
        rows=rows, tracks=track_info,
        window=dict(num_frames=num_t, frame_interval=interval,
                    span_frames=span, span_s=round(span / fps, 3),
                    stride_frames=stride_frames,
                    stride_s=round(stride_frames / fps, 3)),
        detector=det_name, thumbnails=thumbnails, stats=stats,
        _tracks=copy.copy(tracks), _enlarge=enlarge, _smooth=smooth)
