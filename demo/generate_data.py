"""Generate the synthetic dynamic-expression dataset (DFEW layout).

Example::

    python -m demo.generate_data --out data/synthetic_dfew \
        --clips-per-class 40 --frames 16 --size 112 --seed 0

The faces are procedurally rendered (not real people); see
``demo/expressions.py`` for how each class moves.
"""
import argparse
import json
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate a synthetic video FER dataset in DFEW layout')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--clips-per-class', type=int, default=40)
    parser.add_argument('--frames', type=int, default=16,
                        help='frames per clip')
    parser.add_argument('--size', type=int, default=112,
                        help='frame side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--test-fraction', type=float, default=0.25)
    parser.add_argument('--label-base', type=int, default=1, choices=(0, 1),
                        help='1: labels 1..7 as the official DFEW files; '
                        '0: 0..6 as the S2D release copies')
    parser.add_argument('--landmark-stride', type=int, default=2,
                        help='every N-th frame enters the COCO landmark '
                        'annotation files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from demo import generate_dataset
    t0 = time.time()
    meta = generate_dataset(
        args.out, clips_per_class=args.clips_per_class,
        num_frames=args.frames, img_size=args.size, seed=args.seed,
        test_fraction=args.test_fraction, label_base=args.label_base,
        landmark_stride=args.landmark_stride)
    print(f'Wrote {meta["num_train"]} train + {meta["num_test"]} test '
          f'SYNTHETIC clips ({args.frames} frames, {args.size} px, labels '
          f'from {args.label_base}) to {args.out} in {time.time() - t0:.1f}s')
    print(json.dumps({k: meta[k] for k in ('classes', 'motion_only_classes')}))


if __name__ == '__main__':
    main()
