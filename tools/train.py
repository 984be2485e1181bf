"""Train an s2d_mm (or any mmaction2 / mmpretrain) config with mmengine.

Usage (from any directory; config paths are tried relative to the current
directory first, then to the repository root)::

    python tools/train.py configs/s2d_dfew.py
    python tools/train.py configs/s2d_dfew.py --cfg-options fold=3
    python tools/train.py configs/s2d_dfew.py --resume          # latest ckpt
    bash tools/dist_train.sh configs/s2d_dfew.py 2              # 2 GPUs
"""
import argparse
import sys
import os


def parse_args(argv=None):
    from s2d_mm.utils.cli_args import add_cfg_options, add_launcher_args
    parser = argparse.ArgumentParser(description='Train a recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and ckpts')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one of '
        'the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision (AmpOptimWrapper, dynamic loss scale)')
    parser.add_argument(
        '--no-validate', action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale lr with the total batch (the s2d configs already do)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed', action='store_true',
        help='different seed per rank')
    parser.add_argument(
        '--deterministic', action='store_true',
        help='deterministic CUDNN / torch algorithms')
    add_cfg_options(parser)
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args):
    import s2d_mm  # noqa: F401  (registries, safe checkpoint loading)
    from s2d_mm.engine import adapt_to_machine, load_experiment_config

    cfg = load_experiment_config(args.config, args.cfg_options, args.launcher,
                                 args.work_dir)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'OptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if cfg.get('val_dataloader', None) is None:
        # nothing to validate on (the paper protocol, or a dataset base
        # without validation next to a schedule that declares the loop):
        # train without validation and without a best-checkpoint rule
        args.no_validate = True
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
        cfg.train_cfg.pop('val_begin', None)
        cfg.train_cfg.pop('val_interval', None)
        checkpoint = cfg.get('default_hooks', {}).get('checkpoint', None)
        if checkpoint is not None:
            checkpoint.pop('save_best', None)
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=8))
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    randomness = cfg.get('randomness', dict())
    randomness.setdefault('seed', None)  # None: mmengine draws one
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness

    adapt_to_machine(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    from s2d_mm.engine.config_variables import ConfigOverrideError
    try:
        cfg = build_config(args)
    except ConfigOverrideError as err:
        # an override that would not reach its uses: one line, no traceback
        sys.exit(f'error: {err}')

    from s2d_mm.engine import build_runner

    runner = build_runner(cfg, args.launcher)
    runner.train()
    _report_skipped_samples(runner)
    return runner


def _report_skipped_samples(runner):
    """Say at the end how many bad samples `on_bad_sample='skip'` dropped."""
    dataset = getattr(runner.train_dataloader, 'dataset', None)
    skipped = getattr(dataset, 'num_skipped', 0)
    if skipped:
        runner.logger.warning(
            f'{skipped} bad training sample(s) were skipped '
            "(on_bad_sample='skip'); each one is named in the log above")


if __name__ == '__main__':
    main()
