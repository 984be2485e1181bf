"""Raw labelled videos for the face-extraction tests: real faces, not crops.

Unlike the demo's rendered 64-px crops, these are uncropped recordings in
miniature: the face of scikit-image's ``astronaut()`` photograph (a real
photo, shipped with the package) composited onto a textured background,
off-centre, moving, at different sizes, frame sizes and frame rates. Every
video's face box is known per frame, so a test can measure where the
extracted crops are.

:func:`make_raw_video_set` writes a small labelled set with the cases a
lab's folder holds: good videos of a few subjects and classes, one with two
faces of equal size, one with a small second face in the background, one
with no face, one that is not a video, one shorter than a clip.
"""
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['face_patch', 'render_video', 'write_video', 'make_raw_video_set',
           'PATCH_FACE_BOX']

#: the astronaut's face in the patch cut by :func:`face_patch` (x1, y1, x2,
#: y2, patch pixels; OpenCV's Haar cascade finds 177, 66, 272, 161 in the
#: full photo, the patch starts at 130, 20)
PATCH_FACE_BOX = np.array([47., 46., 142., 141.], np.float32)
_PATCH = (130, 20, 320, 210)  # x1, y1, x2, y2 in the photo: 190 x 190


def face_patch(tint: Sequence[float] = (1., 1., 1.), flip: bool = False
               ) -> Tuple[np.ndarray, np.ndarray]:
    """The astronaut's head, BGR ``(190, 190, 3)`` uint8, and its alpha
    ``(190, 190)`` float32 (a soft ellipse around head and neck).
    ``tint`` scales B, G, R (other "subjects"); ``flip`` mirrors it."""
    from skimage import data
    x1, y1, x2, y2 = _PATCH
    rgb = data.astronaut()[y1:y2, x1:x2]
    bgr = np.clip(rgb[..., ::-1].astype(np.float32) *
                  np.asarray(tint, np.float32), 0, 255).astype(np.uint8)
    h, w = bgr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = ((xx - w / 2) / (0.48 * w)) ** 2 + ((yy - h / 2) / (0.5 * h)) ** 2
    alpha = np.clip((1.0 - r) * 6, 0, 1).astype(np.float32)
    if flip:
        bgr, alpha = bgr[:, ::-1].copy(), alpha[:, ::-1].copy()
    return bgr, alpha


def _background(size: Tuple[int, int], kind: str, seed: int) -> np.ndarray:
    from skimage import data
    w, h = size
    src = {'brick': data.brick, 'gravel': data.gravel,
           'grass': data.grass}[kind]()
    img = cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
    img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR).astype(np.float32)
    rng = np.random.default_rng(seed)
    img = img * 0.6 + rng.uniform(40, 120, 3).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray,
           x: float, y: float, scale: float) -> np.ndarray:
    """Composite ``patch`` scaled by ``scale`` with its top-left at (x, y);
    returns the face box in frame pixels."""
    side = max(2, int(round(patch.shape[0] * scale)))
    p = cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_AREA)[..., None]
    x0, y0 = int(round(x)), int(round(y))
    h, w = frame.shape[:2]
    fx1, fy1 = max(0, x0), max(0, y0)
    fx2, fy2 = min(w, x0 + side), min(h, y0 + side)
    if fx2 > fx1 and fy2 > fy1:
        sub = (slice(fy1 - y0, fy2 - y0), slice(fx1 - x0, fx2 - x0))
        region = frame[fy1:fy2, fx1:fx2].astype(np.float32)
        frame[fy1:fy2, fx1:fx2] = (a[sub] * p[sub] +
                                   (1 - a[sub]) * region).astype(np.uint8)
    s = side / patch.shape[0]
    return PATCH_FACE_BOX * s + np.array([x0, y0, x0, y0], np.float32)


def render_video(num_frames: int, size: Tuple[int, int],
                 faces: Sequence[dict], background: str = 'brick',
                 seed: int = 0) -> Tuple[List[np.ndarray], np.ndarray]:
    """BGR frames and the face boxes ``(F, N, 4)`` (x1 y1 x2 y2).

    Each face dict: ``start`` and ``end`` (x, y) of the face centre in
    frame pixels (moved linearly), ``side`` (face side in pixels, may be a
    ``(first, last)`` pair), ``tint``, ``flip``.
    """
    bg = _background(size, background, seed)
    patches = [face_patch(f.get('tint', (1., 1., 1.)), f.get('flip', False))
               for f in faces]
    face_side = PATCH_FACE_BOX[2] - PATCH_FACE_BOX[0]
    centre_in_patch = (PATCH_FACE_BOX[:2] + PATCH_FACE_BOX[2:]) / 2
    frames, boxes = [], np.zeros((num_frames, len(faces), 4), np.float32)
    for t in range(num_frames):
        u = t / max(1, num_frames - 1)
        frame = bg.copy()
        for k, (face, (patch, alpha)) in enumerate(zip(faces, patches)):
            side = face['side']
            side = side[0] + u * (side[1] - side[0]) if np.ndim(side) else side
            scale = side / face_side
            cx, cy = (1 - u) * np.asarray(face['start'], np.float32) + \
                u * np.asarray(face['end'], np.float32)
            boxes[t, k] = _paste(frame, patch, alpha,
                                 cx - centre_in_patch[0] * scale,
                                 cy - centre_in_patch[1] * scale, scale)
        frames.append(frame)
    return frames, boxes


def write_video(path: str, frames: Sequence[np.ndarray], fps: float) -> str:
    """Write BGR frames as MPEG-4 (``.mp4``) or Motion-JPEG (``.avi``)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fourcc = 'MJPG' if path.endswith('.avi') else 'mp4v'
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                             (w, h))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} ({fourcc})')
    for f in frames:
        writer.write(f)
    writer.release()
    return path


# (subject, label, frame size, fps, frames, background, face motion)
_GOOD = [
    ('s1', 'Happy', (320, 240), 25, 24, 'brick',
     dict(start=(90, 80), end=(140, 110), side=70)),
    ('s1', 'Sad', (256, 256), 15, 20, 'gravel',
     dict(start=(180, 170), end=(150, 150), side=(60, 80))),
    ('s2', 'Happy', (320, 240), 30, 24, 'grass',
     dict(start=(230, 150), end=(200, 120), side=80, tint=(0.9, 1., 1.1))),
    ('s2', 'Sad', (320, 240), 10, 20, 'brick',
     dict(start=(100, 150), end=(120, 120), side=(90, 70),
          tint=(0.9, 1., 1.1))),
    ('s3', 'Happy', (256, 256), 25, 22, 'gravel',
     dict(start=(80, 90), end=(110, 100), side=64, flip=True)),
    ('s3', 'Sad', (320, 240), 15, 20, 'grass',
     dict(start=(240, 100), end=(220, 130), side=75, flip=True)),
    ('s4', 'Happy', (320, 240), 30, 20, 'gravel',
     dict(start=(160, 90), end=(200, 100), side=85, tint=(1.1, 1., 0.9))),
    ('s4', 'Sad', (256, 256), 25, 24, 'brick',
     dict(start=(170, 100), end=(140, 120), side=70, tint=(1.1, 1., 0.9))),
]


def make_raw_video_set(root: str, good: Optional[int] = None) -> Dict:
    """Write a labelled raw-video set under ``root``.

    ``root/videos/<subject>_<label>.mp4`` (one ``.avi``), and
    ``root/labels.csv`` (``path,label,subject``; paths relative to the
    CSV). Besides the good videos (4 subjects x Happy, Sad; faces of 64-90
    px, 10-30 fps, one with a small second face in the background):

    - ``s5_Happy_two_faces``: two faces of equal size side by side;
    - ``s5_Sad_no_face``: the background alone;
    - ``s6_Happy_corrupt``: bytes that are not a video;
    - ``s6_Sad_short``: 6 frames, shorter than a 16-frame clip.

    Args:
        good (int, optional): only the first ``good`` good videos.

    Returns:
        dict: ``csv``, ``videos`` (name -> path), ``boxes`` (name -> face
        boxes ``(F, N, 4)`` per frame, first face = the labelled one),
        ``fps`` (name -> rate), ``labels``, ``subjects`` (name -> value),
        ``drops`` (name -> expected drop reason).
    """
    vids = osp.join(root, 'videos')
    out = dict(videos={}, boxes={}, fps={}, labels={}, subjects={}, drops={})

    def add(name, subject, label, frames, boxes, fps, ext='.mp4'):
        path = osp.join(vids, name + ext)
        write_video(path, frames, fps)
        out['videos'][name] = path
        out['boxes'][name] = boxes
        out['fps'][name] = fps
        out['labels'][name] = label
        out['subjects'][name] = subject

    for i, (subj, label, size, fps, n, bg, face) in enumerate(
            _GOOD[:good]):
        faces = [face]
        if i == 0:  # a small face passing in the background
            faces.append(dict(start=(275, 45), end=(255, 50), side=44,
                              tint=(1.2, 1., 0.8)))
        frames, boxes = render_video(n, size, faces, bg, seed=i)
        add(f'{subj}_{label}', subj, label, frames, boxes, fps,
            '.avi' if i == 3 else '.mp4')
    if good is None:
        frames, boxes = render_video(
            20, (320, 240), [dict(start=(90, 120), end=(95, 120), side=70),
                             dict(start=(230, 120), end=(225, 120), side=70,
                                  flip=True)], 'gravel', seed=20)
        add('s5_Happy_two_faces', 's5', 'Happy', frames, boxes, 25)
        out['drops']['s5_Happy_two_faces'] = 'several faces'
        frames, boxes = render_video(20, (320, 240), [], 'brick', seed=21)
        add('s5_Sad_no_face', 's5', 'Sad', frames, boxes, 25)
        out['drops']['s5_Sad_no_face'] = 'no face'
        path = osp.join(vids, 's6_Happy_corrupt.mp4')
        with open(path, 'wb') as f:
            f.write(b'\x00\x00\x00\x18ftypmp42' +
                    np.random.default_rng(0).bytes(4000))
        out['videos']['s6_Happy_corrupt'] = path
        out['labels']['s6_Happy_corrupt'] = 'Happy'
        out['subjects']['s6_Happy_corrupt'] = 's6'
        out['drops']['s6_Happy_corrupt'] = 'corrupt'
        frames, boxes = render_video(
            6, (320, 240), [dict(start=(150, 110), end=(160, 115), side=80)],
            'grass', seed=22)
        add('s6_Sad_short', 's6', 'Sad', frames, boxes, 25)
        out['drops']['s6_Sad_short'] = 'too short'
    out['csv'] = osp.join(root, 'labels.csv')
    with open(out['csv'], 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['path', 'label', 'subject'])
        for name, path in out['videos'].items():
            w.writerow([osp.relpath(path, root), out['labels'][name],
                        out['subjects'][name]])
    return out
