"""Frames with a class-probability bar chart, for ``tools/infer.py``."""
import os
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np

__all__ = ['draw_prediction', 'write_video']


def draw_prediction(frames: Sequence[np.ndarray],
                    probs: Sequence[float],
                    classes: Sequence[str],
                    side: int = 256,
                    title: str = '') -> List[np.ndarray]:
    """Each frame (BGR, resized to ``side``) next to a horizontal bar chart
    of the clip's class probabilities, the top class highlighted.

    Returns:
        list[np.ndarray]: BGR images ``(side, side + chart_w, 3)``.
    """
    probs = np.asarray(probs, np.float64)
    chart_w = 260
    row = max(14, min(28, (side - 24) // max(1, len(classes))))
    chart = np.full((side, chart_w, 3), 255, np.uint8)
    top = int(probs.argmax())
    font = cv2.FONT_HERSHEY_SIMPLEX
    if title:
        cv2.putText(chart, title[:32], (6, 14), font, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for i, (name, p) in enumerate(zip(classes, probs)):
        y = 24 + i * row
        colour = (40, 140, 40) if i == top else (170, 120, 60)
        bar = int(round(p * (chart_w - 110)))
        cv2.rectangle(chart, (80, y), (80 + bar, y + row - 5), colour, -1)
        cv2.putText(chart, str(name)[:10], (4, y + row - 8), font, 0.38,
                    (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(chart, f'{p:.2f}', (84 + bar, y + row - 8), font, 0.35,
                    (0, 0, 0), 1, cv2.LINE_AA)
    out = []
    for frame in frames:
        img = cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA)
        out.append(np.concatenate([img, chart], axis=1))
    return out


def write_video(frames: Sequence[np.ndarray], path: str,
                fps: float = 4.0) -> str:
    """Write BGR frames as an mp4 (``mp4v``) file."""
    if not frames:
        raise ValueError('no frames to write')
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write the video {path}')
    try:
        for f in frames:
            writer.write(np.ascontiguousarray(f))
    finally:
        writer.release()
    return path
