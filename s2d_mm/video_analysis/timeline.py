"""Emotion timeline of a whole video: every face, window by window.

:func:`analyze_video` slides the model's window (its T frames at the frame
interval of its training pipeline) over the video with a stride (0.5 s by
default) and classifies every window of every face track:

1. **faces** -- :func:`~s2d_mm.video_analysis.face_search.track_faces`:
   the detector (MTCNN by default) runs every ``detect_every`` frames,
   detections are linked into tracks, only confirmed tracks are kept (seen
   in enough of their detection rounds, with enough score and size, for at
   least ``min_track_seconds`` and one window; the others are listed in
   ``dropped_tracks`` with the reason), and a face that comes back after a
   gap keeps its id when it looks the same;
2. **windows** -- each track segment gets the windows that fit in its span
   (the last one aligned with the segment's end, so the rows cover it; no
   window spans a gap);
3. **frames and model** --
   :class:`~s2d_mm.video_analysis.window_classifier.WindowClassifier`
   decodes only the frames some window uses, once, prepares each crop once
   (landmark features shared by overlapping windows) and classifies the
   windows of all tracks in batches, holding about one window span per
   track whatever the length of the video.

The result (:class:`VideoTimeline`) has one row per window and track with
``track_id, t_start, t_end, t_center, frame_start, frame_end``, one
probability column per class and ``top_class``; :meth:`VideoTimeline.to_csv`
and :meth:`VideoTimeline.to_json` write it. ``t_start`` is the time of the
window's first frame, ``t_end`` the end of its last frame
(``(frame_end + 1) / fps``).
"""
import csv
import json
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch.nn as nn
from mmengine.registry import init_default_scope

from .atomic import atomic_write
from .face_crop import NoFaceFoundError, square_box
from .face_search import FaceTracks, track_faces
from .window_classifier import TrackWindows, WindowClassifier
# s2d_mm.apis.inference imports this package's face crop: bound as a module,
# it is complete by the time a function here runs, whichever package was
# imported first
from s2d_mm.apis import inference as inference_api
from s2d_mm.apis.video_reader import FrameReader, open_video

__all__ = [
    'analyze_video', 'VideoTimeline', 'model_frame_interval',
    'window_starts', 'TIMELINE_COLUMNS', 'timeline_classes'
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
        tracks (list[dict]): per confirmed track: ``track_id``,
            ``first_frame``, ``last_frame``, ``segments`` (``[first,
            last]`` per segment: more than one when the face came back
            after a gap and was re-identified), ``detections`` (``[frame,
            x1, y1, x2, y2, score]``), ``num_windows``;
            ``crop_box(track_id, frame)`` gives the crop.
        dropped_tracks (list[dict]): tracks that were not confirmed, with
            their span, figures and ``reason``.
        reid_links (list[dict]): re-identifications across gaps.
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
    dropped_tracks: List[dict] = field(default_factory=list)
    reid_links: List[dict] = field(default_factory=list)
    precision: str = 'fp32'
    _faces: Optional[FaceTracks] = field(default=None, repr=False)
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
        box = self.face_box(track_id, frame)
        return None if box is None else square_box(box, self._enlarge)

    def face_box(self, track_id: int, frame) -> Optional[np.ndarray]:
        """Smoothed face box(es) of a track at frame(s), interpolated
        between detections; None for the whole frame."""
        if self._faces is None:
            return None
        boxes = self._faces.boxes(track_id, np.atleast_1d(frame),
                                  self._smooth)
        return boxes[0] if np.ndim(frame) == 0 else boxes

    def rows_of(self, track_id: int) -> List[dict]:
        return [r for r in self.rows if r['track_id'] == track_id]

    def probs(self, track_id: int) -> np.ndarray:
        """``(num_windows, C)`` probabilities of one track."""
        return np.array([[r[c] for c in self.classes]
                         for r in self.rows_of(track_id)]).reshape(
                             -1, len(self.classes))

    def to_csv(self, path: str) -> str:
        with atomic_write(path, newline='') as f:
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
        data = dict(
            source=self.source, fps=self.fps, num_frames=self.num_frames,
            duration_s=round(self.duration, 3), classes=self.classes,
            columns=self.columns, window=self.window,
            detector=self.detector, precision=self.precision,
            tracks=self.tracks, dropped_tracks=self.dropped_tracks,
            reid_links=self.reid_links, stats=self.stats, rows=self.rows)
        with atomic_write(path) as f:
            json.dump(data, f, indent=1)
        return path


def _window_plan(model: nn.Module, fps: float, stride: float,
                 window: Optional[float]) -> dict:
    """T, frame interval, span and stride of the windows, in frames."""
    num_t = inference_api.model_num_frames(model)
    if window is None:
        interval = model_frame_interval(model)
    else:
        interval = max(1, int(round(window * fps / num_t)))
    span = (num_t - 1) * interval + 1
    stride_frames = max(1, int(round(stride * fps)))
    return dict(num_frames=num_t, frame_interval=interval, span_frames=span,
                span_s=round(span / fps, 3), stride_frames=stride_frames,
                stride_s=round(stride_frames / fps, 3))


def timeline_classes(model: nn.Module) -> List[str]:
    """The model's class names, the probability columns of a timeline."""
    classes = inference_api._class_names(model,
                                         int(model.cls_head.num_classes))
    clash = set(classes) & set(TIMELINE_COLUMNS + ('top_class', ))
    if clash:
        raise ValueError(f'class names {sorted(clash)} clash with the '
                         'timeline columns')
    return classes


def _segment_windows(first: int, last: int, plan: dict,
                     whole: bool = False) -> List[np.ndarray]:
    """Frame indices of the windows covering ``[first, last]``."""
    span, interval = plan['span_frames'], plan['frame_interval']
    starts = window_starts(first, last, span, plan['stride_frames'])
    if not starts and whole:  # detect=False on a clip shorter than a window
        starts = [first]
    return [np.minimum(s + interval * np.arange(plan['num_frames']), last)
            for s in starts]


def _plan_tracks(faces: Optional[FaceTracks], num_frames: int, plan: dict,
                 smooth: int, enlarge: float) -> List[TrackWindows]:
    """Windows per track segment (a window never spans a gap)."""
    if faces is None:
        return [TrackWindows(0, None, _segment_windows(
            0, num_frames - 1, plan, whole=True))]
    out = []
    for tid, segments in faces.tracks.items():
        for seg in segments:
            def box_at(f, seg=seg):
                return square_box(seg.box_at(f, smooth), enlarge)
            out.append(TrackWindows(tid, box_at, _segment_windows(
                seg.first_frame, seg.last_frame, plan)))
    return out


def _no_face_error(faces: FaceTracks, source: str, plan: dict,
                   fps: float) -> NoFaceFoundError:
    reasons = {}
    for d in faces.dropped:
        key = d['reason'].split(' (')[0].split(' <')[0]
        reasons[key] = reasons.get(key, 0) + 1
    why = '; '.join(f'{n} dropped: {r}' for r, n in reasons.items())
    return NoFaceFoundError(
        f'no face found in {source}: faces were detected in '
        f'{faces.rounds_with_face} of {len(faces.round_frames)} probed '
        f'frames, and no confirmed face track lasts one window '
        f'({plan["span_frames"]} frames = {plan["span_frames"] / fps:.2f} s)'
        + (f' ({why})' if why else ''))


def _track_table(faces: Optional[FaceTracks], rows: List[dict],
                 num_frames: int) -> List[dict]:
    table = []
    for tid in (faces.tracks if faces is not None else [0]):
        info = dict(track_id=0, first_frame=0, last_frame=num_frames - 1,
                    segments=[[0, num_frames - 1]], detections=[]) \
            if faces is None else faces.track_info(tid)
        info['num_windows'] = sum(r['track_id'] == tid for r in rows)
        table.append(info)
    return table


def analyze_video(model: nn.Module,
                  video: Union[str, Sequence[np.ndarray], FrameReader],
                  stride: float = 0.5,
                  window: Optional[float] = None,
                  detect: bool = True,
                  detector=None,
                  track_cfg: Optional[dict] = None,
                  smooth: int = 2,
                  enlarge: float = 1.3,
                  batch_size: int = 8,
                  fps: Optional[float] = None,
                  num_thumbnails: int = 8,
                  thumbnail_size: int = 64,
                  chunk_size: int = 16,
                  backend: str = 'opencv',
                  progress: bool = False,
                  precision: Optional[str] = None,
                  **track_kwargs) -> VideoTimeline:
    """Classify every window of every confirmed face of a video.

    Args:
        model (nn.Module): from :func:`~s2d_mm.apis.init_model` (any
            precision: ``init_model(precision=...)`` or
            :func:`~s2d_mm.apis.apply_precision`).
        video (str | Sequence[np.ndarray] | FrameReader): video file,
            frame folder, BGR frames or a reader.
        stride (float): seconds between window starts.
        window (float, optional): seconds one window spans; its T frames
            are then spread evenly over it. None: T frames at the frame
            interval of the model's training pipeline.
        detect (bool): find and track faces; False treats every frame as
            one face crop (track 0).
        detector: a face detector, a config dict or name of a registered
            one (:func:`~s2d_mm.video_analysis.build_face_detector`);
            None: MTCNN.
        track_cfg (dict, optional) / ``**track_kwargs``: options of
            :func:`~s2d_mm.video_analysis.track_faces` (``detect_every``,
            ``max_missed``, ``iou_thr``, ``min_track_seconds``,
            ``min_hit_share``, ``min_score``, ``min_size``,
            ``reid_gap_seconds``, ``reid_similarity``).
        smooth (int): a track's boxes are averaged over ``2 * smooth + 1``
            detections.
        enlarge (float): crop side relative to the face box.
        batch_size (int): windows per forward pass (across tracks).
        fps (float, optional): frame rate; needed for sources without one
            (frame folders, arrays: 25 is assumed otherwise).
        num_thumbnails (int): face crops kept per track for the plot.
        thumbnail_size (int): their side in pixels.
        chunk_size (int): frames decoded at a time.
        backend (str): decoder of video files, ``'opencv'`` (default),
            ``'decord'`` or ``'auto'`` (see ``open_video``). Both passes go
            forward through the video and use much of it, which OpenCV's
            sequential decoding does in constant memory; with decord the
            resident memory was seen to grow with the video's length
            (about 5 MiB per second of a 25-fps 480x240 video).
        progress (bool): show progress bars (detection, then windows).
        precision (str, optional): prepare ``model`` in this precision
            first (:func:`~s2d_mm.apis.apply_precision`, in place; ``auto``,
            ``fp32``, ``bf16``, ``int8``, ``onnx``); None: as it is.

    Returns:
        VideoTimeline: rows, tracks (confirmed and dropped), thumbnails and
        stats.

    Raises:
        NoFaceFoundError: ``detect`` is on and no confirmed track lasts one
            window.
    """
    init_default_scope(model.cfg.get('default_scope', 'mmaction'))
    if precision is not None:
        from s2d_mm.apis.precision import apply_precision
        model = apply_precision(model, precision)
    model.eval()
    t0, cpu0 = time.perf_counter(), time.process_time()
    reader = open_video(video, backend=backend)
    n = reader.num_frames
    fps = float(fps or reader.fps or 25.0)
    plan = _window_plan(model, fps, stride, window)
    classes = timeline_classes(model)
    faces = None
    if detect:
        faces = track_faces(reader, detector, fps=fps, chunk_size=chunk_size,
                            min_frames=plan['span_frames'],
                            progress=progress,
                            **dict(track_cfg or {}, **track_kwargs))
        if not faces.tracks:
            reader.close()
            raise _no_face_error(faces, reader.source, plan, fps)
    runner = WindowClassifier(model, _plan_tracks(faces, n, plan, smooth,
                                                  enlarge),
                              classes, fps, batch_size, chunk_size,
                              num_thumbnails, thumbnail_size)
    t_model = time.perf_counter()
    rows = runner.run(reader, progress)
    reader.close()
    seconds = time.perf_counter() - t_model
    choice = getattr(model, 'inference_precision', None)
    stats = dict(
        num_windows=len(rows),
        num_tracks=len(faces.tracks) if faces else 1,
        num_dropped_tracks=len(faces.dropped) if faces else 0,
        detection_rounds=len(faces.round_frames) if faces else 0,
        frames_decoded=reader.num_decoded,
        landmark_frames=runner.prepare.num_landmark_runs,
        peak_frames_held=runner.peak,
        model_seconds=round(seconds, 3),
        total_seconds=round(time.perf_counter() - t0, 3),
        cpu_seconds=round(time.process_time() - cpu0, 3),
        windows_per_s=round(len(rows) / max(seconds, 1e-9), 3))
    return VideoTimeline(
        source=reader.source, fps=fps, num_frames=n, classes=classes,
        rows=rows, tracks=_track_table(faces, rows, n), window=plan,
        detector=faces.detector if faces else 'none (whole frames)',
        thumbnails=runner.thumbnails, stats=stats,
        dropped_tracks=faces.dropped if faces else [],
        reid_links=faces.links if faces else [],
        precision=choice.mode if choice is not None else 'fp32',
        _faces=faces, _enlarge=enlarge, _smooth=smooth)
