"""Finding and cropping the face of a clip for inference on raw videos.

S2D models are trained on face-cropped clips (DFEW's ``clip_224x224``
crops). A raw video is brought to that form by detecting the face on some
of its frames, taking one box for the whole clip (the median of the per-frame
detections, enlarged and made square) and cropping every frame with it, so
the face does not jitter from frame to frame.

The default detector is MTCNN (:class:`~.face_detectors.MTCNNFaceDetector`,
whose weights ship inside the ``facenet-pytorch`` wheel: nothing is
downloaded), the default of ``tools/data/extract_faces.py`` and
``tools/analyze_video.py`` too, and the crop is made the same way as
theirs (:func:`square_box` of the detector's box, ``enlarge`` 1.3, no
per-detector correction), so a model fine-tuned on extracted clips sees
faces framed as in training. Detectors frame faces differently (MTCNN's box
runs from brow to chin, OpenCV's Haar cascade's is square and shorter:
MTCNN's crops come out about 1.13 times larger with the same ``enlarge``),
so infer with the detector the training clips were cut with. Any detector
of :mod:`s2d_mm.video_analysis.face_detectors` (e.g.
:class:`~.face_detectors.HaarFaceDetector`, the no-dependency fallback), its
config or registered name, or a callable frame -> boxes can be passed
instead.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .face_detectors import build_face_detector

__all__ = ['NoFaceFoundError', 'clip_face_box', 'crop_clip', 'crop_frame',
           'square_box']


class NoFaceFoundError(RuntimeError):
    """No face was detected in (enough frames of) a clip."""


def square_box(box: np.ndarray, enlarge: float = 1.3) -> np.ndarray:
    """Square crop box(es) around face box(es) ``(..., 4)`` (x1, y1, x2,
    y2): same centre, side ``enlarge`` times the longer side (``1.3``
    gives a crop like DFEW's; the crop of ``tools/data/extract_faces.py``,
    ``tools/analyze_video.py`` and :func:`clip_face_box`)."""
    box = np.asarray(box, np.float32)
    centre = (box[..., :2] + box[..., 2:]) / 2
    half = np.maximum(box[..., 2] - box[..., 0],
                      box[..., 3] - box[..., 1])[..., None] * enlarge / 2
    return np.concatenate([centre - half, centre + half], axis=-1)


def clip_face_box(frames: Sequence[np.ndarray],
                  detector=None,
                  max_probes: int = 16,
                  min_hit_ratio: float = 0.25,
                  enlarge: float = 1.3) -> Tuple[np.ndarray, dict]:
    """One square face box for a whole clip.

    The detector runs on up to ``max_probes`` evenly spaced frames; in each
    the largest face is kept. The clip's box is centred on the median
    centre of those faces, with side ``enlarge`` times their median side
    (:func:`square_box`, as ``tools/data/extract_faces.py`` crops the
    training clips with the same detector's boxes).

    Args:
        frames (Sequence[np.ndarray] | FrameReader): BGR frames
            ``(H, W, 3)``, or a reader of them (only the probes are read).
        detector (callable | dict | str, optional): frame -> boxes
            ``(K, 4)`` (x1, y1, x2, y2), largest first, or a detector config
            or registered name (:func:`~.face_detectors.build_face_detector`).
            None: :class:`~.face_detectors.MTCNNFaceDetector`, the default
            of ``tools/data/extract_faces.py``.
        max_probes (int): frames the detector runs on.
        min_hit_ratio (float): share of probed frames that must contain a
            face; fewer raises :class:`NoFaceFoundError`.
        enlarge (float): side of the crop relative to the detected face.

    Returns:
        tuple: the box ``(4,)`` float (x1, y1, x2, y2; may reach outside the
        frame) and a dict with ``probed`` (frame indices) and ``hits``
        (per-probe box or None).
    """
    if len(frames) == 0:
        raise NoFaceFoundError('the clip has no frames')
    detector = build_face_detector(detector)
    probes = np.unique(
        np.linspace(0, len(frames) - 1, min(max_probes, len(frames))).round()
        .astype(int))
    # a FrameReader decodes just the probed frames, in one batch
    probe_frames = frames.read(probes) if hasattr(frames, 'read') else \
        [frames[i] for i in probes]
    hits: List[Optional[np.ndarray]] = []
    for frame in probe_frames:
        boxes = detector(frame)
        hits.append(boxes[0] if len(boxes) else None)
    found = np.array([b for b in hits if b is not None])
    needed = max(1, int(np.ceil(min_hit_ratio * len(probes))))
    if len(found) < needed:
        raise NoFaceFoundError(
            f'no face found: a face was detected in {len(found)} of '
            f'{len(probes)} probed frames (need {needed})')
    centres = (found[:, :2] + found[:, 2:]) / 2
    sides = np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1])
    cx, cy = np.median(centres, axis=0)
    half = float(np.median(sides)) / 2
    box = square_box([cx - half, cy - half, cx + half, cy + half], enlarge)
    return box, dict(probed=probes.tolist(),
                     hits=[None if b is None else b.tolist() for b in hits])


def crop_frame(frame: np.ndarray,
               box: np.ndarray,
               size: Optional[int] = None) -> np.ndarray:
    """Crop one frame with ``box`` (x1, y1, x2, y2; may reach outside the
    frame, which is then padded by replicating the border); ``size``
    resizes the crop to ``size x size``."""
    x1, y1, x2, y2 = [int(round(float(v))) for v in box]
    h, w = frame.shape[:2]
    pad = max(0, -x1, -y1, x2 - w, y2 - h)
    src = frame
    if pad:
        src = cv2.copyMakeBorder(frame, pad, pad, pad, pad,
                                 cv2.BORDER_REPLICATE)
    crop = src[y1 + pad:y2 + pad, x1 + pad:x2 + pad]
    if size is not None:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop)


def crop_clip(frames: Sequence[np.ndarray],
              box: np.ndarray,
              size: Optional[int] = None) -> List[np.ndarray]:
    """Crop every frame with the same box (:func:`crop_frame`)."""
    return [crop_frame(frame, box, size) for frame in frames]
