"""How the demo's video-stage recipe was chosen (issue 20): variants scored on
a tuning set, never on the test split.

The tuning set is a second synthetic dataset rendered with its own seed
(``--tune-seed``, default 100: faces none of the demo seeds draw), whose
training-split clips (30 a class) score every variant. Each variant trains
the demo's video stage from the landmark network and image-stage checkpoint
of a finished ``make demo`` run (``--demo-dir``), on that run's training
clips, exactly as ``make demo`` does apart from the variant's setting:

- ``te_lr1``: the temporal embedding at the base learning rate (the recipe
  before issue 20);
- ``te_lr10``: the temporal embedding at 10x the base learning rate (the
  demo config since issue 20);
- ``order``: ``te_lr1`` plus the TMA order options (``frame_offset_bias=4``,
  ``linear_init='xavier'``, docs/tma_diagnosis.md).

    make demo
    python -m demo.tune_video [--variants te_lr1 te_lr10 order]
        [--demo-dir work_dirs/demo] [--work-dir work_dirs/demo_tune]

Prints per variant the tuning-set UAR and the recall of every class, and
writes them to ``<work-dir>/tune.json``. Synthetic data; figures in
docs/demo.md.
"""
import json
import os
import os.path as osp
import sys

from demo import parser_on_demo_run

#: variant -> (temporal-embedding lr multiplier, TMA options)
VARIANTS = {
    'te_lr1': (1., {}),
    'te_lr10': (10., {}),
    'order': (1., dict(frame_offset_bias=4.0, linear_init='xavier')),
}


def parse_args(argv=None):
    p = parser_on_demo_run(__doc__.split('\n')[0], 'demo_tune')
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=list(VARIANTS))
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the video-stage runs')
    p.add_argument('--tune-seed', type=int, default=100,
                   help='seed of the rendered tuning set')
    p.add_argument('--threads', type=int, default=None)
    return p.parse_args(argv)


def variant_config(variant, demo_dir, tune_root, seed):
    """The demo's video config for ``variant``, tested on the tuning set's
    training-split clips."""
    from mmengine.runner import find_latest_checkpoint

    from demo import stages
    te_lr, tma = VARIANTS[variant]
    cfg = stages.video_stage_config(
        osp.join(demo_dir, 'data'),
        osp.join(demo_dir, 'landmark', 'landmark.pth'),
        find_latest_checkpoint(osp.join(demo_dir, 'image')), seed=seed)
    cfg.model.backbone.tma = dict(cfg.model.backbone.tma, **tma)
    cfg.optim_wrapper.paramwise_cfg.custom_keys['temporal_embedding'] = \
        dict(decay_mult=0., lr_mult=te_lr)
    test = cfg.test_dataloader.dataset
    test.data_root = tune_root
    test.ann_file = 'train_set_{fold}.csv'
    cfg.test_evaluator = dict(type='UARWARMetric', save_files=False)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    import s2d_mm  # noqa: F401
    from demo import generate_dataset, stages
    if not osp.isfile(osp.join(args.demo_dir, 'landmark', 'landmark.pth')):
        sys.exit(f'{args.demo_dir}: no finished demo run here (run `make '
                 'demo` first, or pass --demo-dir)')
    tune_root = osp.join(args.work_dir, f'tune_set_seed{args.tune_seed}')
    if not osp.isfile(osp.join(tune_root, 'meta.json')):
        generate_dataset(tune_root, clips_per_class=40, seed=args.tune_seed)
    results = {}
    for variant in args.variants:
        cfg = variant_config(variant, args.demo_dir, tune_root, args.seed)
        _, _, metrics = stages._run(
            cfg, osp.join(args.work_dir, variant), f'tune {variant}')
        results[variant] = {k: round(float(v), 1)
                            for k, v in metrics.items()}
        print(f'{variant}: tuning UAR {results[variant]["UAR"]:.1f}  ' +
              '  '.join(f'{k.split("/")[1]} {v:.0f}'
                        for k, v in results[variant].items()
                        if k.startswith('recall/')), flush=True)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'tune.json'), 'w') as f:
        json.dump(dict(demo_dir=args.demo_dir, seed=args.seed,
                       tune_seed=args.tune_seed, results=results), f,
                  indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
