"""Finding and cropping the face of a clip for inference on raw videos.

S2D models are trained on face-cropped clips (DFEW's ``clip_224x224``
crops). A raw video is brought to that form by detecting the face on some
of its frames, taking one box for the whole clip (the median of the per-frame
detections, enlarged and made square) and cropping every frame with it, so
the face does not jitter from frame to frame.

The default detector is OpenCV's frontal-face Haar cascade, which ships
inside the ``opencv-python(-headless)`` wheels (``cv2.data.haarcascades``):
nothing is downloaded.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['HaarFaceDetector', 'NoFaceFoundError', 'clip_face_box',
           'crop_clip']


class NoFaceFoundError(RuntimeError):
    """No face was detected in (enough frames of) a clip."""


class HaarFaceDetector:
    """OpenCV Haar cascade face detector.

    Args:
        cascade (str): File name inside ``cv2.data.haarcascades`` or a path
            to a cascade XML. Defaults to the frontal-face default cascade.
        scale_factor (float): Image pyramid step of ``detectMultiScale``.
        min_neighbors (int): Overlapping detections needed to keep one.
        min_size_ratio (float): Smallest face side as a fraction of the
            frame's shorter side.
    """

    def __init__(self,
                 cascade: str = 'haarcascade_frontalface_default.xml',
                 scale_factor: float = 1.1,
                 min_neighbors: int = 4,
                 min_size_ratio: float = 0.08):
        path = cascade
        if not osp.isfile(path):
            path = osp.join(cv2.data.haarcascades, cascade)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Haar cascade {cascade!r} not found (looked in '
                f'{cv2.data.haarcascades}); is opencv-python(-headless) '
                'installed with its data files?')
        self.classifier = cv2.CascadeClassifier(path)
        if self.classifier.empty():
            raise RuntimeError(f'could not load the Haar cascade {path}')
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size_ratio = min_size_ratio

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Faces in one BGR frame ``(H, W, 3)`` -> boxes ``(K, 4)`` as
        ``(x1, y1, x2, y2)``, largest first."""
        gray = frame if frame.ndim == 2 else cv2.cvtColor(
            frame, cv2.COLOR_BGR2GRAY)
        side = max(16, int(min(gray.shape[:2]) * self.min_size_ratio))
        faces = self.classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors, minSize=(side, side))
        if len(faces) == 0:
            return np.zeros((0, 4), np.float32)
        faces = np.asarray(faces, np.float32)
        faces = faces[np.argsort(-faces[:, 2] * faces[:, 3])]
        faces[:, 2:] += faces[:, :2]
        return faces


def clip_face_box(frames: Sequence[np.ndarray],
                  detector=None,
                  max_probes: int = 16,
                  min_hit_ratio: float = 0.25,
                  enlarge: float = 1.3) -> Tuple[np.ndarray, dict]:
    """One square face box for a whole clip.

    The detector runs on up to ``max_probes`` evenly spaced frames; in each
    the largest face is kept. The clip's box is centred on the median
    centre of those faces, with side ``enlarge`` times their median side
    (Haar boxes span brows to chin; ``1.3`` gives a crop like DFEW's).

    Args:
        frames (Sequence[np.ndarray] | FrameReader): BGR frames
            ``(H, W, 3)``, or a reader of them (only the probes are read).
        detector (callable, optional): frame -> boxes ``(K, 4)`` (x1, y1,
            x2, y2), largest first. Defaults to :class:`HaarFaceDetector`.
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
    detector = detector or HaarFaceDetector()
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
    half = float(np.median(sides)) * enlarge / 2
    box = np.array([cx - half, cy - half, cx + half, cy + half], np.float32)
    return box, dict(probed=probes.tolist(),
                     hits=[None if b is None else b.tolist() for b in hits])


def crop_clip(frames: Sequence[np.ndarray],
              box: np.ndarray,
              size: Optional[int] = None) -> List[np.ndarray]:
    """Crop every frame with the same box; outside the frame is padded by
    replicating the border. ``size`` resizes the square crops to
    ``size x size``."""
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    out = []
    for frame in frames:
        h, w = frame.shape[:2]
        pad = max(0, -x1, -y1, x2 - w, y2 - h)
        src = frame
        if pad:
            src = cv2.copyMakeBorder(frame, pad, pad, pad, pad,
                                     cv2.BORDER_REPLICATE)
        crop = src[y1 + pad:y2 + pad, x1 + pad:x2 + pad]
        if size is not None:
            crop = cv2.resize(crop, (size, size),
                              interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(crop))
    return out
