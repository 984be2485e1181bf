"""Check a dataset tree against its annotation files before training.

Builds the train / val / test datasets of a config exactly as training does
(annotation problems stop here with file, line and reason), then walks every
sample: counts per class, missing or empty frame folders, clips shorter than
16 frames, unreadable frames / images, undecodable videos. By default every
frame is decoded, as training's random windows can read any of them;
``--decode ends`` (first and last ``--clip-len`` frames) is the quick look.
Numbering gaps, one frame number under two names and stray files in a frame
folder are reported as warnings. Writes a JSON report and prints a summary;
exits with status 1 if any sample is bad (warnings do not change it).

Examples::

    python tools/data/check_dataset.py configs/_base_/datasets/dfew.py \\
        --splits train test --data-root /data/DFEW --cfg-options fold=3
    python tools/data/check_dataset.py configs/_base_/datasets/mafw.py \\
        --decode ends --out work_dirs/mafw_check.json   # quick look
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args(argv=None):
    from s2d_mm.utils.cli_args import add_cfg_options
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='config with train/val/test dataloaders')
    p.add_argument('--splits', nargs='+', default=['train', 'test'],
                   choices=['train', 'val', 'test'])
    p.add_argument('--decode', default='all', choices=['all', 'ends', 'none'],
                   help="frames to decode: 'all' (default; every frame a "
                   "random training window can reach), 'ends' (quick look: "
                   "first and last --clip-len frames only; misses a corrupt "
                   "middle frame) or 'none' (only check that media exist)")
    p.add_argument('--clip-len', type=int, default=16)
    p.add_argument('--data-root', help='dataset root replacing the '
                   "datasets' data_root")
    p.add_argument('--out', help='JSON report path (default: '
                   'work_dirs/dataset_check/<config>.json)')
    add_cfg_options(p, help='override config entries (e.g. fold=2)')
    return p.parse_args(argv)


def _dataset_cfg(cfg, split, data_root=None):
    loader = cfg.get(f'{split}_dataloader')
    if loader is None:
        return None
    ds = dict(loader['dataset'])
    if data_root is not None:
        ds['data_root'] = data_root
    ds['pipeline'] = []  # media are inspected directly, no augmentation
    return ds


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import DATASETS, DefaultScope

    import s2d_mm  # noqa: F401
    from s2d_mm.datasets.dataset_check import check_dataset, format_report
    from s2d_mm.datasets.utils import AnnotationError

    # `--cfg-options fold=k` (any top-level variable) reaches every dataset
    from s2d_mm.engine import load_config
    cfg = load_config(args.config, args.cfg_options)
    scope = cfg.get('default_scope') or _guess_scope(cfg)

    reports, status = {}, 0
    for split in args.splits:
        ds_cfg = _dataset_cfg(cfg, split, args.data_root)
        if ds_cfg is None:
            print(f'[{split}] no {split}_dataloader in the config: skipped')
            continue
        try:
            with DefaultScope.overwrite_default_scope(scope):
                dataset = DATASETS.build(ds_cfg)
        except (AnnotationError, FileNotFoundError, ValueError) as e:
            print(f'[{split}] annotation error: {e}')
            reports[split] = dict(error=str(e))
            status = 1
            continue
        print(f'[{split}] checking {len(dataset)} samples')
        report = check_dataset(dataset, decode=args.decode,
                               clip_len=args.clip_len)
        reports[split] = report
        print()
        print(format_report(report))
        if report['num_bad']:
            status = 1

    out = args.out or osp.join(
        'work_dirs', 'dataset_check',
        osp.splitext(osp.basename(args.config))[0] + '.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(reports, f, indent=2)
    print(f'report written to {out}')
    return status


def _guess_scope(cfg):
    for key in ('train_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader and loader['dataset'].get('type') in (
                'RAFDBDataset', 'AffectNetDataset', 'FERPlusDataset'):
            return 'mmpretrain'
    return 'mmaction'


if __name__ == '__main__':
    sys.exit(main())
