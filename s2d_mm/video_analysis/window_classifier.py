"""Classifying the windows of face tracks in one pass over a video.

:class:`WindowClassifier` decodes only the frames some window uses, in one
forward pass (:mod:`s2d_mm.apis.video_reader`); crops each per track with
the track's smoothed box, prepares it by the config's test pipeline (the
steps after decoding) and the model's data preprocessor, and sends it
**once** through the landmark branch; the overlapping windows that contain
the frame reuse its landmark features (``S2DViT.forward(x,
landmark_feat=...)``). Complete windows of all tracks share one queue and
are classified in batches; a frame's tensors are freed as soon as no later
window of its track needs them, so at most about one window span per track
is held, whatever the length of the video.

A model prepared by :func:`~s2d_mm.apis.apply_precision` runs in its
precision: bf16 and int8 change the backbone in place; for ``onnx`` the
windows go through the ONNX Runtime session (which holds the landmark
branch itself, so no landmark features are computed here).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate

# bound as a module: s2d_mm.apis.inference imports this package's face crop
from s2d_mm.apis import inference as inference_api

from .face_crop import crop_frame, square_box

__all__ = ['WindowClassifier', 'TrackWindows']


class TrackWindows:
    """Windows of one track segment and the prepared frames they still
    need.

    Args:
        track_id (int): the id its rows get.
        box_at (callable, optional): frame -> square crop box; None: the
            whole frame.
        windows (list[np.ndarray]): frame indices ``(T, )`` per window.
    """

    def __init__(self, track_id: int, box_at, windows: List[np.ndarray]):
        self.track_id = track_id
        self.box_at = box_at
        self.windows = windows
        self.next = 0  # first window not yet queued
        # frame -> (frame tensor (V, 3, H, W), landmark map (V, C, h, w))
        self.buffer: Dict[int, tuple] = {}

    def frames(self) -> List[int]:
        return sorted({int(f) for w in self.windows for f in w})

    def ready(self, done_frame: int):
        """Windows whose frames are all prepared, in order; frees the
        frames no later window needs."""
        out = []
        while self.next < len(self.windows) and \
                self.windows[self.next][-1] <= done_frame:
            out.append(self.windows[self.next])
            self.next += 1
        if not out:
            return []
        keep_from = (self.windows[self.next][0]
                     if self.next < len(self.windows) else np.inf)
        stack = [(self._stack(w), w) for w in out]
        for f in [f for f in self.buffer if f < keep_from]:
            del self.buffer[f]
        return stack

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
        # ONNX Runtime runs the landmark branch inside the exported graph
        self.landmark = None if hasattr(model, 'onnx_session') else \
            getattr(model.backbone, 'landmark', None)
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
def classify_windows(model: nn.Module, xs: List[torch.Tensor],
                     lms: List[Optional[torch.Tensor]]) -> np.ndarray:
    """Windows ``(V, 3, T, H, W)`` (+ landmark ``(V, T, C, h, w)``) ->
    probabilities ``(B, C)`` averaged over the V views."""
    x = torch.stack(xs)  # (B, V, 3, T, H, W)
    b, v = x.shape[:2]
    head = model.cls_head
    if hasattr(model, 'onnx_session'):
        logits = model.onnx_session(x.flatten(0, 1)).to(x.device)
    else:
        kwargs = {}
        if lms[0] is not None:
            # (B, V, T, C, h, w) -> (B*V*T, C, h, w): clip-major, as
            # S2DViT folds (B*V, 3, T, H, W)
            kwargs['landmark_feat'] = torch.stack(lms).flatten(0, 2)
        feats = model.backbone(x.flatten(0, 1), **kwargs)
        if getattr(model, 'with_neck', False):
            feats, _ = model.neck(feats)
        logits = head(feats)
    scores = head.average_clip(logits, num_segs=v)
    if getattr(head, 'average_clips', None) != 'prob':
        scores = scores.softmax(-1)
    probs = scores.float().cpu().numpy().astype(np.float64)
    return probs / probs.sum(1, keepdims=True)


class WindowClassifier:
    """One pass over a video: every window of every track -> a row.

    Args:
        model (nn.Module): the recognizer (any precision).
        tracks (list[TrackWindows]): the windows to classify.
        classes (list[str]): class names (the probability columns).
        fps (float): for the rows' times.
        batch_size (int): windows per forward pass, across tracks.
        chunk_size (int): frames decoded (and prepared) at a time.
        num_thumbnails (int): face crops kept per track, ``thumbnail_size``
            pixels square.
    """

    def __init__(self, model, tracks: List[TrackWindows], classes, fps,
                 batch_size=8, chunk_size=16, num_thumbnails=8,
                 thumbnail_size=64):
        self.model, self.tracks, self.classes = model, tracks, classes
        self.fps, self.batch_size, self.chunk_size = fps, batch_size, \
            chunk_size
        self.thumbnail_size = thumbnail_size
        self.prepare = _FramePreparer(model)
        self.rows: List[dict] = []
        self.thumbnails: Dict[int, list] = {t.track_id: [] for t in tracks}
        self.peak = 0
        self._queue: List[tuple] = []
        self._pending: List[tuple] = []
        self.needed: Dict[int, List[TrackWindows]] = {}
        self._thumb_frames = {}
        for st in tracks:
            used = st.frames()
            for f in used:
                self.needed.setdefault(f, []).append(st)
            pick = np.linspace(0, len(used) - 1,
                               min(num_thumbnails, len(used)))
            self._thumb_frames[id(st)] = {used[int(round(i))] for i in pick}

    def _row(self, tid: int, frames: np.ndarray, p: np.ndarray) -> dict:
        fs, fe = int(frames[0]), int(frames[-1])
        row = dict(track_id=tid, t_start=fs / self.fps,
                   t_end=(fe + 1) / self.fps,
                   t_center=(fs + fe + 1) / 2 / self.fps,
                   frame_start=fs, frame_end=fe)
        row.update({c: float(v) for c, v in zip(self.classes, p)})
        row['top_class'] = self.classes[int(p.argmax())]
        return row

    def _run_queue(self, force: bool) -> None:
        q, b = self._queue, self.batch_size
        while q and (force or len(q) >= b):
            chunk, q[:] = q[:b], q[b:]
            probs = classify_windows(self.model, [c[1] for c in chunk],
                                     [c[2] for c in chunk])
            self.rows += [self._row(c[0], c[3], p)
                          for c, p in zip(chunk, probs)]

    def _flush(self, done_frame: int) -> None:
        if self._pending:
            x, lm = self.prepare([p[2] for p in self._pending])
            for k, (st, f, _) in enumerate(self._pending):
                st.buffer[f] = (x[k], None if lm is None else lm[k])
            self._pending.clear()
        self.peak = max(self.peak, self._held())
        for st in self.tracks:
            for (xw, lmw), frames in st.ready(done_frame):
                self._queue.append((st.track_id, xw, lmw, frames))
        self._run_queue(force=False)

    def _held(self) -> int:
        return len(self._pending) + sum(len(s.buffer) for s in self.tracks)

    def _add_frame(self, f: int, frame: np.ndarray) -> None:
        for st in self.needed[f]:
            box = None if st.box_at is None else st.box_at(f)
            crop = frame if box is None else crop_frame(frame, box)
            self._pending.append((st, f, crop))
            if f in self._thumb_frames[id(st)]:
                self.thumbnails[st.track_id].append(
                    (f, crop_frame(crop, (0, 0) + crop.shape[1::-1],
                                   self.thumbnail_size)))

    def run(self, reader, progress: bool = False) -> List[dict]:
        """Decode, prepare and classify; returns the rows, by track then
        time."""
        bar = None
        if progress and self.needed:
            from mmengine.utils import ProgressBar
            bar = ProgressBar(len(self.needed))
        for f, frame in reader.iter_frames(sorted(self.needed),
                                           self.chunk_size):
            self._add_frame(f, frame)
            if len(self._pending) >= self.chunk_size:
                self._flush(f)
            self.peak = max(self.peak, self._held())
            if bar is not None:
                bar.update()
        self._flush(reader.num_frames)
        self._run_queue(force=True)
        if bar is not None:
            print()
        self.rows.sort(key=lambda r: (r['track_id'], r['frame_start']))
        return self.rows


def segment_box_fn(segment, smooth: int, enlarge: float):
    """frame -> the segment's square crop box (smoothed, interpolated)."""
    return lambda f: square_box(segment.box_at(f, smooth), enlarge)
