"""Write an example video for tools/analyze_video.py: two synthetic faces of
the demo's generator side by side, each going through its own sequence of
expressions (about one second each).

    python -m demo.two_faces_video two_faces.mp4 [--seconds-per-clip 1]

The faces are drawn by the demo's renderer (the data the demo model is
trained on), not real people; each keeps one identity for the whole video.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

LEFT = ['Neutral', 'Happy', 'Happy', 'Sad', 'Sad', 'Neutral', 'Angry',
        'Disgust', 'Happy', 'Neutral']
RIGHT = ['Sad', 'Neutral', 'Angry', 'Angry', 'Happy', 'Happy', 'Neutral',
         'Sad', 'Disgust', 'Disgust']


def face_sequence(classes, person_seed, frames_per_clip, side):
    from demo.synthetic_dfew import render_clip
    frames = []
    for name in classes:
        # one generator seeded per person: the identity is drawn first, so
        # every clip shows the same face
        rng = np.random.default_rng(person_seed)
        clip = render_clip(name, rng, frames_per_clip, (side, side),
                           face_scale=(0.5, 0.5),
                           face_center=(side / 2, side / 2))
        frames.extend(clip['frames'])
    return frames


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out', help='output mp4')
    p.add_argument('--fps', type=float, default=25.0)
    p.add_argument('--seconds-per-clip', type=float, default=1.0)
    p.add_argument('--side', type=int, default=240,
                   help='height of the video, width of each half')
    p.add_argument('--seed', type=int, default=1,
                   help='identity of the left face (the right one: seed + 1; '
                   'the default gives two faces Haar finds in every frame)')
    args = p.parse_args(argv)
    per_clip = max(2, int(round(args.seconds_per_clip * args.fps)))
    left = face_sequence(LEFT, args.seed, per_clip, args.side)
    right = face_sequence(RIGHT, args.seed + 1, per_clip, args.side)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*'mp4v'),
                             args.fps, (2 * args.side, args.side))
    if not writer.isOpened():
        print(f'error: cannot write {args.out}', file=sys.stderr)
        return 1
    for a, b in zip(left, right):
        writer.write(np.concatenate([a, b], axis=1))
    writer.release()
    print(f'{args.out}: {len(left)} frames at {args.fps:g} fps; left: '
          f'{", ".join(LEFT)}; right: {", ".join(RIGHT)} '
          f'({args.seconds_per_clip:g} s each)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
