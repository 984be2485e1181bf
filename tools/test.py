"""Test a checkpoint: prints UAR / WAR and writes the confusion matrix.

Usage (from any directory)::

    python tools/test.py configs/s2d_dfew.py work_dirs/s2d_dfew/fold1/epoch_100.pth
    python tools/test.py configs/s2d_dfew.py CKPT --cfg-options fold=3 \\
        --dump preds.pkl --out-dir results/dfew_fold3
    bash tools/dist_test.sh configs/s2d_dfew.py CKPT 2

The confusion matrix (JSON + PNG, ``test_confusion_matrix.*``) is written by
``UARWARMetric`` into ``--out-dir``, by default the run's log folder
``<work_dir>/<timestamp>/``.
"""
import argparse
import os
import os.path as osp
import sys

DUMP_EXTENSIONS = ('.pkl', '.pickle')


class ConfigError(Exception):
    """The config cannot be tested as it is (reported in one line)."""


def parse_args(argv=None):
    from s2d_mm.utils.cli_args import add_cfg_options, add_launcher_args
    parser = argparse.ArgumentParser(description='Test a recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the test logs')
    parser.add_argument(
        '--dump', type=str,
        help='dump the predictions (data samples) to this pickle file')
    parser.add_argument(
        '--out-dir', type=str,
        help='where UARWARMetric writes the confusion matrix')
    add_cfg_options(parser, help='override config entries, key=value (e.g. '
                    'fold=2)')
    parser.add_argument(
        '--precision',
        choices=['auto', 'fp32', 'bf16', 'int8', 'onnx'],
        default='fp32',
        help='inference precision (s2d_mm.apis.precision; bf16 only where '
        'native, auto picks per machine); default fp32')
    parser.add_argument(
        '--onnx-file',
        help='with --precision onnx: a model exported by '
        'tools/deployment/export_onnx.py (default: export at start)')
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    if args.dump is not None and not args.dump.endswith(DUMP_EXTENSIONS):
        parser.error(f'--dump must name a pickle file (.pkl or .pickle), '
                     f'got {args.dump}')
    if args.onnx_file and args.precision != 'onnx':
        parser.error('--onnx-file needs --precision onnx')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _metric_list(evaluator):
    if isinstance(evaluator, dict):
        return [evaluator]
    return list(evaluator)


def build_config(args):
    import s2d_mm  # noqa: F401  (registries, safe checkpoint loading)
    from s2d_mm.engine import adapt_to_machine, load_experiment_config

    cfg = load_experiment_config(args.config, args.cfg_options, args.launcher,
                                 args.work_dir)
    if cfg.get('val_dataloader', None) is None:
        # a dataset base without validation under a schedule that
        # declares the loop: testing needs neither
        cfg.val_cfg = None
        cfg.val_evaluator = None
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if cfg.get('test_evaluator', None) is None:
        raise ConfigError(
            f'{args.config}: the config has no test_evaluator (e.g. '
            "test_evaluator = dict(type='UARWARMetric'))")
    metrics = _metric_list(cfg.test_evaluator)
    for metric in metrics:
        if metric.get('type') == 'UARWARMetric':
            metric['file_prefix'] = 'test'
            if args.out_dir is not None:
                metric['out_dir'] = args.out_dir
            metric['provenance'] = provenance(args, cfg)
    if args.dump is not None:
        metrics.append(dict(type='DumpResults', out_file_path=args.dump))
    cfg.test_evaluator = metrics
    if args.precision != 'fp32':
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='InferencePrecisionHook', precision=args.precision,
                 onnx_file=args.onnx_file)
        ]
    adapt_to_machine(cfg, args.launcher)
    return cfg


def file_sha256(path, prefix_len=16):
    """The first ``prefix_len`` hex digits of a file's sha256."""
    import hashlib
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:prefix_len]


def _absolute_paths(ds):
    """A dataset config whose paths no longer depend on the current
    directory (mmengine joins ann_file / data_prefix to data_root)."""
    ds = dict(ds)
    ds.pop('pipeline', None)
    if ds.get('data_root'):
        ds['data_root'] = osp.abspath(ds['data_root'])
    else:
        if isinstance(ds.get('ann_file'), str) and ds['ann_file']:
            ds['ann_file'] = osp.abspath(ds['ann_file'])
        prefix = ds.get('data_prefix')
        if isinstance(prefix, dict):
            ds['data_prefix'] = {
                k: osp.abspath(v) if isinstance(v, str) and v else v
                for k, v in prefix.items()
            }
    return ds


def provenance(args, cfg):
    """What the metric JSON records about the scores it holds, for
    ``tools/analysis/aggregate_folds.py`` to verify: config, checkpoint
    (path and sha256 prefix), fold and the test dataset."""
    import json

    from s2d_mm.engine import resolve_config
    dataset = cfg.test_dataloader.dataset
    dataset = dataset.to_dict() if hasattr(dataset, 'to_dict') else dict(
        dataset)
    record = dict(
        config=osp.abspath(resolve_config(args.config)),
        checkpoint=osp.abspath(args.checkpoint),
        checkpoint_sha256=file_sha256(args.checkpoint)
        if osp.isfile(args.checkpoint) else None,
        fold=cfg.get('fold', None),
        default_scope=cfg.get('default_scope', None),
        test_dataset=_absolute_paths(dataset))
    # plain JSON values only (the record is written as JSON)
    return json.loads(json.dumps(record, default=str))


def main(argv=None):
    args = parse_args(argv)
    from s2d_mm.engine.config_variables import ConfigOverrideError
    try:
        cfg = build_config(args)
    except (ConfigError, ConfigOverrideError) as err:
        sys.exit(f'error: {err}')

    from s2d_mm.engine import build_runner

    runner = build_runner(cfg, args.launcher)
    metrics = runner.test()
    uar = next((v for k, v in metrics.items() if k.split('/')[-1] == 'UAR'),
               None)
    war = next((v for k, v in metrics.items() if k.split('/')[-1] == 'WAR'),
               None)
    from mmengine.dist import is_main_process
    if is_main_process():
        if uar is not None and war is not None:
            print(f'UAR {uar:.2f}  WAR {war:.2f}')
        else:
            print('metrics: ' + ', '.join(f'{k}={v}'
                                          for k, v in metrics.items()))
    return metrics


if __name__ == '__main__':
    main()
