"""What temporal modeling adds, on the demo's synthetic data (a benchmark,
not a test).

Trains the demo's video stage twice from the same image-stage checkpoint
and landmark network -- with Temporal-Modeling Adapters (the S2D video
model) and without them (adapters zero and frozen; prompters, temporal
embedding, final norm and head still train) -- and prints both test UARs,
overall and on Surprise/Fear, the pair of synthetic classes whose single
frames are identical in distribution and that only the order of frames
tells apart.

Run ``make demo`` (or ``python demo/run_demo.py``) first; this script
reuses its data, landmark network and image-stage checkpoint from
``work_dirs/demo``, and trains the two video models in
``work_dirs/demo_tma_ablation``.

    python tools/analysis/demo_tma_ablation.py [--epochs 24] [--seeds 0 1]
"""
import argparse
import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--demo-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--work-dir',
                   default=osp.join(REPO, 'work_dirs', 'demo_tma_ablation'))
    p.add_argument('--epochs', type=int, default=None,
                   help='video-stage epochs (default: the demo config)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    return p.parse_args(argv)


def _find(demo_dir):
    lm = osp.join(demo_dir, 'landmark', 'landmark.pth')
    last = osp.join(demo_dir, 'image', 'last_checkpoint')
    data = osp.join(demo_dir, 'data')
    missing = [p for p in (lm, last, osp.join(data, 'meta.json'))
               if not osp.isfile(p)]
    if missing:
        sys.exit(f'missing {missing}: run `make demo` first')
    from mmengine.runner import find_latest_checkpoint
    return data, lm, find_latest_checkpoint(osp.dirname(last))


def main(argv=None):
    args = parse_args(argv)
    import warnings
    warnings.filterwarnings('ignore')
    import numpy as np

    import s2d_mm  # noqa: F401
    from demo import MOTION_ONLY_CLASSES, stages
    data, lm, img = _find(args.demo_dir)
    rows = {}
    for use_tma in (True, False):
        name = 'with TMAs' if use_tma else 'without TMAs'
        runs = []
        for seed in args.seeds:
            tag = ('tma' if use_tma else 'no_tma') + f'_seed{seed}'
            res = stages.train_video_stage(
                data, osp.join(args.work_dir, tag), lm, img,
                epochs=args.epochs, use_tma=use_tma, title=tag, seed=seed)
            m = res['metrics']
            motion = float(np.mean([m[f'recall/{c}']
                                    for c in MOTION_ONLY_CLASSES]))
            others = [c for c in m if c.startswith('recall/') and
                      c.split('/', 1)[1] not in MOTION_ONLY_CLASSES]
            static = float(np.mean([m[c] for c in others]))
            runs.append(dict(UAR=float(m['UAR']), WAR=float(m['WAR']),
                             motion_only=motion, other_classes=static))
            print(f'{name}, seed {seed}: UAR {m["UAR"]:.1f}  '
                  f'Surprise/Fear recall {motion:.1f}  other classes '
                  f'{static:.1f}', flush=True)
        rows[name] = runs

    print('\nTest split of the synthetic data (percent, mean over seeds '
          f'{args.seeds}):')
    print(f'{"":<14}{"UAR":>8}{"WAR":>8}{"Surprise/Fear":>16}'
          f'{"other 5":>10}')
    for name, runs in rows.items():
        mean = {k: np.mean([r[k] for r in runs]) for k in runs[0]}
        print(f'{name:<14}{mean["UAR"]:>8.1f}{mean["WAR"]:>8.1f}'
              f'{mean["motion_only"]:>16.1f}{mean["other_classes"]:>10.1f}')
    out = osp.join(args.work_dir, 'ablation.json')
    with open(out, 'w') as f:
        json.dump(rows, f, indent=2)
    print(f'written to {out}')


if __name__ == '__main__':
    main()
