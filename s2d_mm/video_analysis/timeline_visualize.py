"""Pictures of a :class:`~s2d_mm.video_analysis.timeline.VideoTimeline`.

- :func:`plot_timeline`: per face track, the class probabilities of its
  windows over time as stacked areas, with a strip of the track's face
  crops along the same time axis (``timeline.png``);
- :func:`write_annotated_video`: the input video with a box per face, its
  track id, the current top class and probability bars (``annotated.mp4``).

Class colours are fixed by class name (the emotion names of DFEW, FERV39k,
MAFW, RAF-DB, AffectNet and FERPlus each always get the same colour), and by
position in a fixed palette for other names, so two runs, or two models
with the same classes, are drawn alike.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from s2d_mm.apis.video_reader import open_video

__all__ = ['class_colours', 'plot_timeline', 'write_annotated_video']

# RGB 0-1; one hue family per basic emotion
_NAMED_COLOURS = {
    'happy': (0.98, 0.75, 0.10), 'happiness': (0.98, 0.75, 0.10),
    'sad': (0.20, 0.40, 0.80), 'sadness': (0.20, 0.40, 0.80),
    'neutral': (0.62, 0.62, 0.62),
    'angry': (0.85, 0.15, 0.15), 'anger': (0.85, 0.15, 0.15),
    'surprise': (0.98, 0.50, 0.05), 'surprised': (0.98, 0.50, 0.05),
    'disgust': (0.25, 0.65, 0.25), 'disgusted': (0.25, 0.65, 0.25),
    'fear': (0.55, 0.30, 0.70), 'fearful': (0.55, 0.30, 0.70),
    'contempt': (0.55, 0.35, 0.20), 'helplessness': (0.40, 0.75, 0.80),
    'anxiety': (0.85, 0.45, 0.65), 'disappointment': (0.35, 0.35, 0.55),
}
_PALETTE = [(0.12, 0.47, 0.71), (1.00, 0.50, 0.05), (0.17, 0.63, 0.17),
            (0.84, 0.15, 0.16), (0.58, 0.40, 0.74), (0.55, 0.34, 0.29),
            (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13),
            (0.09, 0.75, 0.81)]


def class_colours(classes: Sequence[str]) -> List[Tuple[float, float, float]]:
    """Fixed RGB (0-1) colour per class name."""
    return [_NAMED_COLOURS.get(str(c).lower(), _PALETTE[i % len(_PALETTE)])
            for i, c in enumerate(classes)]


def plot_timeline(timeline, path: str, title: Optional[str] = None,
                  width: float = 12.0) -> str:
    """Write ``timeline.png``: one panel per track (stacked class
    probabilities over time) above a strip of its face crops."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    tracks = [t['track_id'] for t in timeline.tracks]
    colours = class_colours(timeline.classes)
    duration = timeline.duration
    area_h, strip_h = 1.9, 0.75
    ratios = []
    for _ in tracks:
        ratios += [area_h, strip_h]
    fig, axes = plt.subplots(
        2 * len(tracks), 1, figsize=(width, sum(ratios) + 1.2),
        gridspec_kw=dict(height_ratios=ratios, hspace=0.08), squeeze=False,
        sharex=True)
    axes = axes[:, 0]
    for k, tid in enumerate(tracks):
        ax, strip = axes[2 * k], axes[2 * k + 1]
        rows = timeline.rows_of(tid)
        probs = timeline.probs(tid)
        if rows:
            # each window's value drawn at its centre, the first and last
            # held out to the ends of the span the windows cover
            t = np.array([r['t_center'] for r in rows])
            t = np.concatenate([[rows[0]['t_start']], t, [rows[-1]['t_end']]])
            p = np.concatenate([probs[:1], probs, probs[-1:]])
            ax.stackplot(t, p.T, colors=colours, linewidth=0)
        ax.set_xlim(0, duration)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f'track {tid}\nprobability')
        ax.grid(axis='x', alpha=0.3)
        strip.set_xlim(0, duration)
        strip.set_ylim(0, 1)
        strip.set_yticks([])
        for side in ('top', 'right', 'left'):
            strip.spines[side].set_visible(False)
        # square thumbnails: width in seconds from the strip's aspect
        fig_w = fig.get_size_inches()[0] * strip.get_position().width
        fig_h = fig.get_size_inches()[1] * strip.get_position().height
        half = duration * fig_h / max(fig_w, 1e-6) / 2
        for frame, img in timeline.thumbnails.get(tid, []):
            tc = frame / timeline.fps
            strip.imshow(img[..., ::-1], extent=(tc - half, tc + half, 0, 1),
                         aspect='auto', zorder=2)
        strip.set_xlim(0, duration)
    axes[-1].set_xlabel('time (s)')
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    fig.legend(handles, timeline.classes, loc='upper center',
               ncol=min(len(timeline.classes), 8), frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    name = title or osp.basename(timeline.source)
    w = timeline.window
    fig.suptitle(f'{name}: {len(tracks)} face track(s), windows of '
                 f'{w["num_frames"]} frames / {w["span_s"]:.2f} s every '
                 f'{w["stride_s"]:.2f} s', y=1.0 - 0.45 / fig.get_figheight(),
                 fontsize=10)
    fig.subplots_adjust(top=1.0 - 0.85 / fig.get_figheight(),
                        bottom=0.5 / fig.get_figheight(), left=0.07,
                        right=0.99)
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _current_rows(timeline) -> Dict[int, List[dict]]:
    return {t['track_id']: timeline.rows_of(t['track_id'])
            for t in timeline.tracks}


def _row_at(rows: List[dict], frame: int) -> Optional[dict]:
    """The window containing ``frame`` whose centre is nearest to it."""
    best, dist = None, None
    for r in rows:
        if r['frame_start'] <= frame <= r['frame_end']:
            d = abs((r['frame_start'] + r['frame_end']) / 2 - frame)
            if dist is None or d < dist:
                best, dist = r, d
    return best


def _bgr(colour) -> Tuple[int, int, int]:
    r, g, b = colour
    return int(b * 255), int(g * 255), int(r * 255)


def write_annotated_video(timeline, video, path: str,
                          max_side: int = 960, min_side: int = 640,
                          chunk_size: int = 16) -> str:
    """The input video with, per face, its box, ``#id top_class p`` and a
    bar per class (the window around the frame whose centre is nearest);
    streamed frame by frame, written at the input frame rate with its
    longer side brought into ``[min_side, max_side]``."""
    colours = [_bgr(c) for c in class_colours(timeline.classes)]
    rows = _current_rows(timeline)
    font = cv2.FONT_HERSHEY_SIMPLEX
    writer = None
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    with open_video(video, backend='opencv') as reader:  # one forward pass
        try:
            for f, frame in reader.iter_frames(None, chunk_size):
                h, w = frame.shape[:2]
                # small videos are enlarged so that the labels stay legible
                scale = min(max_side, max(min_side, max(h, w))) / max(h, w)
                if scale != 1:
                    frame = cv2.resize(
                        frame, (round(w * scale), round(h * scale)),
                        interpolation=cv2.INTER_AREA
                        if scale < 1 else cv2.INTER_LINEAR)
                else:
                    frame = frame.copy()
                if writer is None:
                    writer = cv2.VideoWriter(
                        path, cv2.VideoWriter_fourcc(*'mp4v'), timeline.fps,
                        (frame.shape[1], frame.shape[0]))
                    if not writer.isOpened():
                        raise RuntimeError(
                            f'OpenCV cannot write the video {path}')
                for tid, track_rows in rows.items():
                    row = _row_at(track_rows, f)
                    if row is None:
                        continue
                    box = timeline.face_box(tid, f)
                    if box is None:
                        box = np.array([0, 0, w - 1, h - 1], np.float32)
                    _draw_face(frame, box * scale, tid, row,
                               timeline.classes, colours, font)
                writer.write(frame)
        finally:
            if writer is not None:
                writer.release()
    return path


def _draw_face(frame, box, tid, row, classes, colours, font) -> None:
    x1, y1, x2, y2 = [int(round(float(v))) for v in box]
    probs = np.array([row[c] for c in classes])
    top = int(probs.argmax())
    cv2.rectangle(frame, (x1, y1), (x2, y2), colours[top], 2)
    label = f'#{tid} {classes[top]} {probs[top]:.2f}'
    (tw, th), _ = cv2.getTextSize(label, font, 0.45, 1)
    ty = max(th + 4, y1)
    cv2.rectangle(frame, (x1, ty - th - 4), (x1 + tw + 4, ty),
                  colours[top], -1)
    cv2.putText(frame, label, (x1 + 2, ty - 3), font, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    # one bar per class under the box, on a dark panel
    bar_w = max(40, x2 - x1 - 56)
    row_h = 11
    panel_h = row_h * len(classes) + 4
    y = max(0, min(frame.shape[0] - panel_h, y2 + 3))
    x = max(0, min(frame.shape[1] - bar_w - 60, x1))
    panel = frame[y:y + panel_h, x:x + bar_w + 60]
    panel[:] = (panel * 0.35).astype(frame.dtype)
    for i, (name, p) in enumerate(zip(classes, probs)):
        yy = y + 2 + i * row_h
        cv2.rectangle(frame, (x + 2, yy), (x + 2 + int(bar_w * p),
                                           yy + row_h - 3), colours[i], -1)
        cv2.putText(frame, str(name)[:9], (x + bar_w + 6, yy + row_h - 3),
                    font, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
