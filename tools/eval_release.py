"""Evaluate a released S2D checkpoint on one fold: UAR / WAR in one command.

Usage (from any directory)::

    python tools/eval_release.py CHECKPOINT --dataset dfew --fold 1 \\
        --data-root data/DFEW \\
        --landmark-checkpoint checkpoints/mobilefacenet_model_best.pth.tar
    python tools/eval_release.py https://.../DFEW_fold1.pth --sha256 1a2b3c4d \\
        --dataset dfew --fold 1 --data-root data/DFEW --label-base 0

CHECKPOINT is the authors' video checkpoint as published (their key
layout; a ``.pth`` holding ``model``/``model_state_dict``), a converted
s2d_mm checkpoint, or an ``http(s)://`` / ``file://`` URL: downloaded once
into torch hub's checkpoint cache (where mmengine's ``load_from_http``
keeps its files) and checked against ``--sha256`` (a prefix of the file's
sha256) or the hash in a torch-hub style name ``name-<sha256 prefix>.pth``.

What it does:

1. reads the release config of the dataset (``configs/s2d_<dataset>_release.py``,
   or ``--config``) with the fold, data root and landmark checkpoint set
   through its top-level variables;
2. picks the label base the test annotation file fits (DFEW's own files
   count from 1, the release's copies from 0), or refuses with the reason;
   ``--label-base`` declares it and is checked the same way;
3. converts the checkpoint (:mod:`s2d_mm.models.utils.convert`; head
   counts from the config) and refuses one whose architecture differs from
   the config's, listing what differs;
4. tests it with the release's test protocol (2 clips x 2 crops), prints
   UAR / WAR, writes the confusion matrix (JSON + PNG) and
   ``eval_release.json`` into ``--out-dir``, and compares with the number
   the release reports for that fold (docs/released_code.md §5).
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import re
import sys
from urllib.parse import urlparse

#: UAR / WAR (%) the release's README reports per fold ('mean': the
#: 5-fold mean as printed there; docs/released_code.md §5). Key: dataset,
#: oversampling.
RELEASED_RESULTS = {
    ('dfew', False): {1: (61.56, 76.16), 2: (59.93, 73.99),
                      3: (61.33, 76.41), 4: (62.75, 76.31),
                      5: (63.51, 77.27), 'mean': (61.82, 76.03)},
    ('dfew', True): {1: (64.80, 75.35), 2: (62.54, 72.53),
                     3: (66.47, 75.87), 4: (66.03, 74.48),
                     5: (67.43, 76.80), 'mean': (65.45, 74.81)},
    ('ferv39k', False): {None: (41.28, 52.56)},
    ('ferv39k', True): {None: (43.97, 46.21)},
    ('mafw', False): {1: (32.78, 46.76), 2: (40.43, 55.96),
                      3: (47.01, 62.08), 4: (45.66, 62.61),
                      5: (43.45, 59.42), 'mean': (41.86, 57.37)},
    ('mafw', True): {1: (36.16, 44.21), 2: (41.94, 51.22),
                     3: (48.08, 61.48), 4: (47.67, 60.64),
                     5: (43.16, 58.55), 'mean': (43.40, 55.22)},
}
FOLDED = ('dfew', 'mafw')


class ReleaseEvalError(RuntimeError):
    """The checkpoint, data or options do not fit; says why."""


def parse_args(argv=None):
    from s2d_mm.utils.cli_args import add_cfg_options
    parser = argparse.ArgumentParser(
        description='UAR / WAR of a released S2D checkpoint on one fold')
    parser.add_argument('checkpoint', help='released .pth (or URL)')
    parser.add_argument('--dataset', required=True,
                        choices=['dfew', 'ferv39k', 'mafw'])
    parser.add_argument('--fold', type=int,
                        help='fold 1-5 (DFEW, MAFW; FERV39k has one split)')
    parser.add_argument('--data-root',
                        help='dataset root (default: the config\'s, '
                        'e.g. data/DFEW)')
    parser.add_argument(
        '--label-base', default='auto', choices=['auto', '0', '1'],
        help='whether the annotation labels count from 0 or 1 (DFEW only); '
        'auto: read from the test annotation file')
    parser.add_argument(
        '--landmark-checkpoint',
        help='the released landmark network '
        '(mobilefacenet_model_best.pth.tar; default: the config\'s path)')
    parser.add_argument(
        '--config', help='experiment config (default: '
        'configs/s2d_<dataset>_release.py)')
    parser.add_argument(
        '--oversampling', action='store_true',
        help='compare with the release\'s "w/ oversampling" numbers')
    parser.add_argument('--sha256', help='expected sha256 (prefix) of a '
                        'downloaded checkpoint')
    parser.add_argument('--out-dir', help='where the results go (default: '
                        'work_dirs/eval_release/<checkpoint>[/fold<k>])')
    add_cfg_options(parser, help='more config overrides, key=value')
    args = parser.parse_args(argv)
    if args.dataset in FOLDED and args.fold is None:
        parser.error(f'--fold is required for {args.dataset} (1-5)')
    if args.dataset not in FOLDED and args.fold is not None:
        parser.error(f'{args.dataset} has one official split: no --fold')
    if args.fold is not None and not 1 <= args.fold <= 5:
        parser.error(f'--fold must be 1-5, got {args.fold}')
    return args


# ------------------------------------------------------------- checkpoint
def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_checkpoint(src, sha256=None, cache_dir=None):
    """A local path for ``src``: a URL is downloaded once into torch hub's
    checkpoint cache (mmengine's ``load_from_http`` cache) and checked
    against ``sha256`` or the ``-<hash>`` of a torch-hub style file name.
    """
    if '://' not in src:
        if not osp.isfile(src):
            raise ReleaseEvalError(f'checkpoint file not found: {src}')
        if sha256 and not file_sha256(src).startswith(sha256.lower()):
            raise ReleaseEvalError(
                f'{src}: sha256 {file_sha256(src)[:16]}... does not start '
                f'with the expected {sha256}')
        return src
    from torch.hub import download_url_to_file, get_dir
    name = osp.basename(urlparse(src).path)
    if not name:
        raise ReleaseEvalError(f'{src}: the URL names no file')
    if sha256 is None:
        m = re.search(r'-([a-f0-9]{8,})\.', name)  # torch hub convention
        sha256 = m.group(1) if m else None
    cache_dir = cache_dir or osp.join(get_dir(), 'checkpoints')
    os.makedirs(cache_dir, exist_ok=True)
    dst = osp.join(cache_dir, name)
    if not osp.isfile(dst):
        try:
            download_url_to_file(src, dst, hash_prefix=sha256, progress=True)
        except RuntimeError as e:  # torch hub's hash check
            raise ReleaseEvalError(f'{src}: {e}') from e
        except OSError as e:
            raise ReleaseEvalError(f'{src}: download failed: {e}') from e
    elif sha256 and not file_sha256(dst).startswith(sha256.lower()):
        raise ReleaseEvalError(
            f'cached {dst} (from {src}) does not match sha256 {sha256}; '
            'delete it to download again')
    return dst


def convert_release(path, cfg):
    """(state_dict in s2d_mm layout, meta) of a released video checkpoint;
    head counts, which the weights do not tell, come from the config."""
    from s2d_mm.models.utils.convert import (
        CheckpointConversionError,
        convert_state_dict,
        load_source,
    )
    checkpoint = load_source(path)
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else checkpoint
    if isinstance(state, dict) and any(
            k.startswith(('backbone.', 'cls_head.')) for k in state):
        return state, dict(source_kind='s2d_mm')
    backbone = cfg.model.backbone
    overrides = dict(tma_heads=backbone.get('tma', {}).get('num_heads', 8))
    if isinstance(backbone.get('arch'), dict):
        overrides['num_heads'] = backbone.arch.num_heads
    try:
        state_dict, meta = convert_state_dict(checkpoint, overrides, path)
    except CheckpointConversionError as e:
        raise ReleaseEvalError(str(e)) from e
    if meta['source_kind'] != 'video':
        raise ReleaseEvalError(
            f"{path} is a {meta['source_kind']!r} checkpoint, not a released "
            'S2D video (DFER) model; convert it with '
            'tools/convert_official_s2d.py and start training from it')
    return state_dict, meta


def check_architecture(state_dict, meta, cfg, path):
    """Refuse weights that do not fit the config's model, naming the
    differences (the architecture read from the weights vs the config)."""
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope

    from s2d_mm.models.backbones.landmark import landmark_branches_with_checkpoint
    from s2d_mm.utils.state_dict_fit import CheckpointMismatchError, check_state_dict
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    own = landmark_branches_with_checkpoint(model)
    arch = meta.get('arch') or {}
    wanted = dict(
        embed_dims=model.backbone.embed_dims,
        num_layers=model.backbone.num_layers,
        num_frames=model.backbone.temporal_embedding.shape[1],
        num_classes=model.cls_head.num_classes)
    differs = [f'{k}: checkpoint {arch[k]}, config {v}'
               for k, v in wanted.items() if k in arch and arch[k] != v]
    try:
        check_state_dict(
            state_dict, model, path,
            ignore_missing=[f'^{p}' for p in own] + ['^data_preprocessor'],
            error=CheckpointMismatchError)
    except CheckpointMismatchError as e:
        head = ('another architecture than the config\'s model ('
                + '; '.join(differs) + ')') if differs else \
            'weights that do not fit the config\'s model'
        raise ReleaseEvalError(f'{path} holds {head}:\n{e}') from e
    missing_landmark = [k for k in model.state_dict()
                        if k.startswith('backbone.landmark')
                        and not any(k.startswith(p) for p in own)
                        and k not in state_dict]
    if missing_landmark:
        raise ReleaseEvalError(
            f'{path} has no landmark network (the release keeps it apart) '
            'and the config gives none: pass --landmark-checkpoint (the '
            'released mobilefacenet_model_best.pth.tar)')


# ----------------------------------------------------------------- config
def load_config(args):
    from s2d_mm.engine import ConfigOverrideError, load_experiment_config
    config = args.config or f'configs/s2d_{args.dataset}_release.py'
    options = dict(args.cfg_options or {})
    if args.fold is not None:
        options['fold'] = args.fold
    if args.data_root is not None:
        options['data_root'] = args.data_root
    if args.landmark_checkpoint is not None:
        options['landmark_ckpt'] = args.landmark_checkpoint
    if args.label_base != 'auto':
        options['label_base'] = int(args.label_base)
    try:
        cfg = load_experiment_config(config, options,
                                     work_dir=args.out_dir or 'unused')
    except ConfigOverrideError as e:
        if 'label_base' in str(e):
            raise ReleaseEvalError(
                f'--label-base: the {args.dataset} annotation files have '
                f'one label base; {e}') from e
        raise ReleaseEvalError(str(e)) from e
    cfg.model.backbone.init_cfg = None  # the checkpoint holds everything
    return cfg


def choose_label_base(cfg, declared):
    """The label base the test annotation file fits, or the declared one
    checked against it (None: the dataset has no label base variable)."""
    from mmengine.registry import DefaultScope

    from s2d_mm.datasets.utils import AnnotationError, detect_label_base
    from s2d_mm.registry import MMACTION_DATASETS
    if 'label_base' not in cfg:
        return None
    ds_cfg = cfg.test_dataloader.dataset

    def build(base):
        with DefaultScope.overwrite_default_scope('mmaction'):
            return MMACTION_DATASETS.build(
                dict(ds_cfg.to_dict(), label_base=base, pipeline=[]))

    try:
        if declared != 'auto':
            build(int(declared))
            base = int(declared)
        else:
            base = detect_label_base(build, _ann_file(ds_cfg))
    except AnnotationError as e:
        how = '--label-base ' + declared if declared != 'auto' else \
            'the test annotation file'
        raise ReleaseEvalError(f'label base ({how}): {e}') from e
    except FileNotFoundError as e:
        raise ReleaseEvalError(str(e)) from e
    return base


def _ann_file(ds_cfg):
    ann = ds_cfg.ann_file.format(fold=ds_cfg.get('fold'))
    return osp.join(ds_cfg.get('data_root') or '', ann)


# ------------------------------------------------------------------- main
def provenance(cfg, path, fold):
    """The record ``tools/analysis/aggregate_folds.py`` checks a fold's
    result against (as ``tools/test.py`` writes it)."""
    dataset = cfg.test_dataloader.dataset.to_dict()
    dataset.pop('pipeline', None)
    if dataset.get('data_root'):
        dataset['data_root'] = osp.abspath(dataset['data_root'])
    record = dict(
        config=osp.abspath(cfg.filename), checkpoint=osp.abspath(path),
        checkpoint_sha256=file_sha256(path)[:16], fold=fold,
        default_scope=cfg.get('default_scope'), test_dataset=dataset)
    return json.loads(json.dumps(record, default=str))


def released(dataset, fold, oversampling):
    table = RELEASED_RESULTS[(dataset, oversampling)]
    return table.get(fold)


def run(args):
    import torch

    import s2d_mm  # noqa: F401
    from s2d_mm.engine import adapt_to_machine, build_runner

    path = fetch_checkpoint(args.checkpoint, args.sha256)
    name = osp.splitext(osp.basename(path))[0]
    out_dir = args.out_dir or osp.join(
        'work_dirs', 'eval_release', name,
        f'fold{args.fold}' if args.fold else '')
    args.out_dir = out_dir
    cfg = load_config(args)
    base = choose_label_base(cfg, args.label_base)
    if base is not None and base != cfg.label_base:
        args.label_base = str(base)
        cfg = load_config(args)  # the variable reaches every dataset
    state_dict, meta = convert_release(path, cfg)
    check_architecture(state_dict, meta, cfg, path)
    os.makedirs(out_dir, exist_ok=True)
    converted = osp.join(out_dir, f'{name}_s2d_mm.pth')
    torch.save(dict(state_dict=state_dict,
                    meta=dict(meta, converted_from=osp.basename(path))),
               converted)

    cfg.load_from = converted
    cfg.resume = False
    cfg.work_dir = out_dir
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_evaluator = dict(
        type='UARWARMetric', file_prefix='test', out_dir=out_dir,
        provenance=provenance(cfg, path, args.fold))
    adapt_to_machine(cfg)
    metrics = build_runner(cfg).test()
    uar = next(v for k, v in metrics.items() if k.split('/')[-1] == 'UAR')
    war = next(v for k, v in metrics.items() if k.split('/')[-1] == 'WAR')
    ref = released(args.dataset, args.fold, args.oversampling)
    record = dict(
        checkpoint=osp.abspath(path), sha256=file_sha256(path),
        dataset=args.dataset, fold=args.fold, label_base=base,
        oversampling=args.oversampling, UAR=uar, WAR=war,
        released=dict(UAR=ref[0], WAR=ref[1]) if ref else None)
    lines = [f'UAR {uar:.2f}  WAR {war:.2f}  ({args.dataset}'
             + (f' fold {args.fold}' if args.fold else '')
             + (f', label_base={base}' if base is not None else '') + ')']
    if ref:
        what = 'w/ oversampling' if args.oversampling else 'w/o oversampling'
        lines.append(f'released ({what}): UAR {ref[0]:.2f}  WAR {ref[1]:.2f}'
                     f'  -> difference UAR {uar - ref[0]:+.2f}  WAR '
                     f'{war - ref[1]:+.2f}')
    lines.append(f'confusion matrix and eval_release.json in {out_dir}')
    with open(osp.join(out_dir, 'eval_release.json'), 'w') as f:
        json.dump(record, f, indent=2)
    print('\n'.join(lines))
    return record


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except ReleaseEvalError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
