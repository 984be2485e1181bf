"""Face detectors and track confirmation on generated real-photo videos.

    python tools/analysis/face_detector_eval.py [--detectors mtcnn haar]
        [--seconds 20] [--out work_dirs/face_detector_eval.json]

Each video composites scikit-image's ``astronaut`` photograph (Eileen
Collins in her suit, a flag and mission patches behind her: a real face and
plenty of face-like clutter) twice, the right copy mirrored, on a grey
640x360 background; the copies move apart over the video, and nobody is
there for 2 s in the middle. Variants: ``plain``, ``small`` (faces about
half as large), ``dim_noisy`` (darker, with sensor-like noise).

The faces' true boxes are known from the compositing. Per detector and
video it counts, over the detection rounds (every 5th frame):

- misses: true faces no detection overlaps (IoU >= 0.3);
- false positives: detections overlapping no true face;

then runs :func:`~s2d_mm.video_analysis.track_faces` (confirmation and
re-identification at their defaults) and counts the confirmed tracks, the
tracks on something else than a face, and the frames covered; and measures
the appearance similarity behind re-identification (same face across the
gap vs the other face). Prints one line per video and detector, and the
machine.
"""
import argparse
import json
import time

import cv2
import numpy as np

#: the face in the 512x512 photograph (x1, y1, x2, y2), MTCNN's box
PHOTO_FACE = np.array([183., 66., 265., 173.])
VARIANTS = ('plain', 'small', 'dim_noisy')


def photo(height: int) -> np.ndarray:
    """The astronaut photograph (BGR), ``height`` pixels high."""
    from skimage import data
    img = np.ascontiguousarray(data.astronaut()[..., ::-1])
    return cv2.resize(img, (height, height), interpolation=cv2.INTER_AREA)


class PhotoVideo:
    """Frames and true face boxes of one generated video.

    Args:
        num_frames (int): length.
        size (tuple): ``(H, W)`` of the frames.
        photo_height (int): side of each photo copy.
        gap (tuple): ``(start, stop)`` frames without anybody.
        spread (int): how much further apart (px) the copies end.
        dim (float): brightness factor; ``noise``: pixel noise sigma.
        mirror (bool): the right copy is mirrored (else the same picture
            twice).
    """

    def __init__(self, num_frames=500, size=(360, 640), photo_height=300,
                 gap=(225, 275), spread=60, dim=1.0, noise=0.0, seed=0,
                 mirror=True):
        self.n, self.size, self.gap = num_frames, size, gap
        self.mirror = mirror
        self.spread, self.dim, self.noise, self.seed = spread, dim, noise, \
            seed
        self.img = photo(photo_height)
        self.scale = photo_height / 512.

    def _lefts(self, i):
        h, w = self.size
        p = self.img.shape[1]
        d = int(round(i * self.spread / max(1, self.n - 1)))
        return (max(0, w // 2 - p - 2 - d // 2),
                min(w - p, w // 2 + 2 + d // 2))

    def _top(self):
        return (self.size[0] - self.img.shape[0]) // 2

    def faces(self, i) -> np.ndarray:
        """True face boxes ``(K, 4)`` at frame ``i`` (left copy first)."""
        if self.gap[0] <= i < self.gap[1]:
            return np.zeros((0, 4), np.float32)
        xl, xr = self._lefts(i)
        p = self.img.shape[1]
        f = PHOTO_FACE * self.scale
        left = f + [xl, self._top(), xl, self._top()]
        # mirrored copy: x -> p - x
        right = np.array([xr + p - f[2], self._top() + f[1], xr + p - f[0],
                          self._top() + f[3]]) if self.mirror else \
            f + [xr, self._top(), xr, self._top()]
        return np.stack([left, right]).astype(np.float32)

    def frame(self, i) -> np.ndarray:
        h, w = self.size
        out = np.full((h, w, 3), 128, np.uint8)
        if not self.gap[0] <= i < self.gap[1]:
            xl, xr = self._lefts(i)
            p, y = self.img.shape[1], self._top()
            out[y:y + p, xl:xl + p] = self.img
            out[y:y + p, xr:xr + p] = self.img[:, ::-1] if self.mirror \
                else self.img
        if self.dim != 1.0 or self.noise:
            rng = np.random.default_rng([self.seed, i])
            out = out.astype(np.float32) * self.dim
            out += rng.normal(0, self.noise, out.shape) if self.noise else 0
            out = np.clip(out, 0, 255).astype(np.uint8)
        return out

    def reader(self, fps=25.0):
        from s2d_mm.apis.video_reader import FrameReader
        video = self

        class _Reader(FrameReader):
            def __init__(self):
                super().__init__()
                self.source, self.num_frames, self.fps = \
                    '<astronaut photo x2>', video.n, fps

            def _decode(self, indices):
                return [video.frame(i) for i in indices]

        return _Reader()


def variant(name: str, seconds: float = 20., fps: float = 25.) -> PhotoVideo:
    """The named variant, ``seconds`` long, a 2 s gap in the middle."""
    n = int(round(seconds * fps))
    gap = (n // 2 - int(fps), n // 2 + int(fps))
    if name == 'plain':
        return PhotoVideo(n, gap=gap)
    if name == 'small':
        return PhotoVideo(n, gap=gap, photo_height=170, spread=120)
    if name == 'dim_noisy':
        return PhotoVideo(n, gap=gap, dim=0.55, noise=8.0)
    raise ValueError(f'unknown variant {name!r}; choose from {VARIANTS}')


def count_detections(video: PhotoVideo, det, every: int = 5) -> dict:
    """Misses and false positives over the detection rounds."""
    from s2d_mm.video_analysis import box_iou
    misses = fps = faces = rounds = 0
    seconds = 0.
    for i in range(0, video.n, every):
        truth, frame = video.faces(i), video.frame(i)
        t0 = time.perf_counter()
        boxes, _ = det.detect(frame)
        seconds += time.perf_counter() - t0
        iou = box_iou(truth, boxes)
        misses += int((iou.max(1, initial=0) < 0.3).sum()) if len(truth) \
            else 0
        fps += int((iou.max(0, initial=0) < 0.3).sum()) if len(boxes) \
            else 0
        faces += len(truth)
        rounds += 1
    return dict(rounds=rounds, true_faces=faces, misses=misses,
                false_positives=fps,
                ms_per_frame=round(1000 * seconds / rounds, 1))


def count_tracks(video: PhotoVideo, det) -> dict:
    """Confirmed tracks, those not on a face, and re-identification."""
    from s2d_mm.video_analysis import box_iou, track_faces
    faces = track_faces(video.reader(), det)
    on_face = 0
    for tid, segments in faces.tracks.items():
        f = segments[0].first_frame
        truth = video.faces(f)
        on_face += bool(len(truth)) and box_iou(
            truth, faces.boxes(tid, [f])).max() >= 0.3
    covered = sum(s.num_frames for seg in faces.tracks.values()
                  for s in seg)
    return dict(confirmed_tracks=len(faces.tracks),
                tracks_not_on_a_face=len(faces.tracks) - int(on_face),
                dropped_tracks=len(faces.dropped),
                segments=sum(len(s) for s in faces.tracks.values()),
                reid_links=[(k['track_id'], k['similarity'])
                            for k in faces.links],
                frames_covered=covered, frames_with_faces=int(sum(
                    len(video.faces(i)) for i in range(video.n))))


def reid_margin(video: PhotoVideo) -> dict:
    """Appearance similarity across the gap: same face vs other face."""
    from s2d_mm.video_analysis import appearance_descriptor
    before, after = video.gap[0] - 1, video.gap[1]
    d = {k: [appearance_descriptor(video.frame(f), b)
             for b in video.faces(f)] for k, f in (('b', before),
                                                   ('a', after))}
    same = [float(d['b'][k] @ d['a'][k]) for k in (0, 1)]
    other = [float(d['b'][k] @ d['a'][1 - k]) for k in (0, 1)]
    return dict(same_face=[round(s, 3) for s in same],
                other_face=[round(s, 3) for s in other])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--detectors', nargs='+', default=['mtcnn', 'haar'],
                        choices=['mtcnn', 'haar'])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANTS)
    parser.add_argument('--seconds', type=float, default=20.)
    parser.add_argument('--out', default=None, help='JSON of the figures')
    args = parser.parse_args(argv)
    import torch

    from s2d_mm.utils.machine import describe_machine, format_machine
    from s2d_mm.video_analysis import build_face_detector
    names = dict(mtcnn='MTCNNFaceDetector', haar='HaarFaceDetector')
    results = []
    for v in args.variants:
        video = variant(v, args.seconds)
        margin = reid_margin(video)
        print(f'{v}: {video.n} frames 640x360, re-id similarity same face '
              f'{margin["same_face"]}, other face {margin["other_face"]}')
        for d in args.detectors:
            det = build_face_detector(names[d])
            r = dict(variant=v, detector=d, **count_detections(video, det),
                     **count_tracks(video, det), reid=margin)
            results.append(r)
            print(f'  {d}: {r["misses"]} misses and {r["false_positives"]} '
                  f'false positives in {r["true_faces"]} true faces over '
                  f'{r["rounds"]} detection rounds ({r["ms_per_frame"]} '
                  f'ms/frame); {r["confirmed_tracks"]} confirmed track(s) '
                  f'({r["segments"]} segments, {r["tracks_not_on_a_face"]} '
                  f'not on a face, {r["dropped_tracks"]} dropped), re-id '
                  f'links {r["reid_links"]}, {r["frames_covered"]} frames '
                  'covered')
    machine = describe_machine()
    print('machine: ' + '; '.join(format_machine(machine)) +
          f'; torch threads {torch.get_num_threads()}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(results=results, machine=machine), f, indent=1)
    return 0


if __name__ == '__main__':
    import sys
    sys.exit(main())
