"""Average UAR / WAR over the folds of DFEW or MAFW (5-fold protocol).

Each fold's result is read from its folder, as ``tools/test.py`` leaves it:
the ``<prefix>_confusion_matrix.json`` written by ``UARWARMetric`` (default
prefix ``test``), or failing that an mmengine test log
``<timestamp>/<timestamp>.json`` holding ``UAR``/``WAR``. A fold folder
holding two such results is refused (a stale re-test would otherwise enter
the mean): keep one, or pass the file itself.

The metric JSON of ``tools/test.py`` records its provenance: config,
checkpoint (path and sha256 prefix), fold and test dataset. A fold is
refused when its record names another fold than its folder (``fold3``), or
when its sample count differs from the number of samples of its test
annotation file, rebuilt from the recorded dataset config
(``--no-sample-check`` skips that, e.g. on a machine without the
annotations). Results without a record (mmengine logs, older files) are
used with a warning that they are unverified.

With ``--folds FOLDS_JSON`` (written by ``tools/data/make_folds.py``) the
folds are checked against the subject folds they were made from: as many
fold results as folds, every fold's recorded test annotation is that
fold's ``test_k.csv``, and no subject is in both the train and the test
file of a fold (re-read from the files, so an edited file is caught); the
table then shows each fold's test subjects and clips.

Examples::

    # work_dirs/s2d_dfew/fold1 ... fold5 (tools/train.py / test.py layout)
    python tools/analysis/aggregate_folds.py work_dirs/s2d_dfew
    # explicit fold dirs or metric files, table also written as CSV
    python tools/analysis/aggregate_folds.py runs/f1 runs/f2 runs/f3 \\
        --out dfew_folds.csv
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np


def _from_log(path: str) -> Optional[Dict]:
    """UAR/WAR from an mmengine test log JSON (one dict, or JSON lines)."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    records = []
    try:
        records = [json.loads(text)]
    except json.JSONDecodeError:
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    for rec in reversed(records):
        if not isinstance(rec, dict):
            continue
        uar = next((v for k, v in rec.items() if k.split('/')[-1] == 'UAR'),
                   None)
        war = next((v for k, v in rec.items() if k.split('/')[-1] == 'WAR'),
                   None)
        if uar is not None and war is not None:
            return dict(UAR=float(uar), WAR=float(war), source=path)
    return None


class FoldResultError(ValueError):
    """A fold's result cannot be trusted for the mean."""


def _candidates(path: str, prefix: str) -> List[str]:
    cms = glob.glob(osp.join(path, '**', f'{prefix}_confusion_matrix.json'),
                    recursive=True)
    if cms:
        return sorted(cms)
    logs = [p for p in glob.glob(osp.join(path, '**', '*.json'),
                                 recursive=True)
            if re.fullmatch(r'\d{8}_\d{6}\.json', osp.basename(p))]
    return sorted(p for p in logs if _from_log(p))


def annotated_samples(record: Dict) -> int:
    """Samples of the test dataset named in a provenance record, counted by
    building the dataset from its config (annotations only, no media)."""
    from mmengine.registry import DATASETS, DefaultScope

    import s2d_mm  # noqa: F401  (registers the datasets)
    ds = dict(record['test_dataset'], pipeline=[])
    scope = record.get('default_scope') or 'mmaction'
    with DefaultScope.overwrite_default_scope(scope):
        return len(DATASETS.build(ds))


def verify(res: Dict, expected_fold: Optional[int] = None,
           sample_check: bool = True) -> Dict:
    """Check a fold result against its provenance record; returns it with
    ``verified`` set, or raises :class:`FoldResultError`."""
    record = res.get('provenance')
    res['verified'] = False
    if not record:
        return res
    fold = record.get('fold')
    if expected_fold is not None and fold is not None and \
            int(fold) != int(expected_fold):
        raise FoldResultError(
            f"{res['source']}: the result of fold {fold} "
            f"(checkpoint {record.get('checkpoint')}) is in the folder of "
            f'fold {expected_fold}')
    if sample_check and record.get('test_dataset'):
        try:
            expected = annotated_samples(record)
        except Exception as err:  # the dataset names the file and line
            raise FoldResultError(
                f"{res['source']}: cannot count the samples of its test "
                f'annotations ({type(err).__name__}: {err}); pass '
                '--no-sample-check to aggregate without this check'
            ) from None
        if res.get('num_samples') != expected:
            ann = record['test_dataset'].get('ann_file')
            raise FoldResultError(
                f"{res['source']}: {res.get('num_samples')} samples scored, "
                f'but the test annotations ({ann}) hold {expected}: a '
                'partial or stale test')
    res['verified'] = True
    return res


def read_fold(path: str, prefix: str = 'test') -> Dict:
    """Result of one fold: a metric JSON file or a fold folder (refused
    when it holds more than one result)."""
    if osp.isfile(path):
        with open(path) as f:
            rec = json.load(f)
        if 'UAR' in rec and 'WAR' in rec:
            return dict(UAR=float(rec['UAR']), WAR=float(rec['WAR']),
                        num_samples=rec.get('num_samples'), source=path,
                        provenance=rec.get('provenance'))
        found = _from_log(path)
        if found:
            return found
        raise ValueError(f'{path} holds no UAR/WAR')
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} is neither a file nor a folder')
    found = _candidates(path, prefix)
    if len(found) > 1:
        raise FoldResultError(
            f'{path} holds {len(found)} results: ' + ', '.join(found) +
            '; keep the one to report (or pass that file instead of the '
            'folder)')
    if found:
        return read_fold(found[0], prefix)
    raise FileNotFoundError(
        f'no {prefix}_confusion_matrix.json and no test log with UAR/WAR '
        f'under {path}')


def find_folds(paths: List[str]) -> List[Tuple[str, str]]:
    """``(fold name, path)``; a single folder holding ``fold*`` sub-folders
    is expanded to them, in fold order."""
    if len(paths) == 1 and osp.isdir(paths[0]):
        subs = [d for d in os.listdir(paths[0])
                if re.fullmatch(r'fold_?\d+', d)
                and osp.isdir(osp.join(paths[0], d))]
        if subs:
            subs.sort(key=lambda d: int(re.findall(r'\d+', d)[0]))
            return [(d, osp.join(paths[0], d)) for d in subs]
    return [(osp.basename(osp.normpath(p)), p) for p in paths]


def _fold_number(name: str) -> Optional[int]:
    m = re.fullmatch(r'fold_?(\d+)', name)
    return int(m.group(1)) if m else None


def aggregate(paths: List[str], prefix: str = 'test',
              sample_check: bool = True) -> Dict:
    folds = []
    for name, path in find_folds(paths):
        res = verify(read_fold(path, prefix), _fold_number(name),
                     sample_check)
        res['fold'] = name
        folds.append(res)
    uar = np.array([f['UAR'] for f in folds])
    war = np.array([f['WAR'] for f in folds])
    return dict(folds=folds, mean=dict(UAR=float(uar.mean()),
                                       WAR=float(war.mean())),
                std=dict(UAR=float(uar.std()), WAR=float(war.std())))


def _fold_annotation(folds_dir: str, template: str, fold: int) -> str:
    return osp.join(folds_dir, template.format(fold=fold))


def _recorded_test_file(record: Dict) -> Optional[str]:
    """The test annotation file a provenance record names, absolute."""
    ds = record.get('test_dataset') or {}
    ann = ds.get('ann_file')
    if not isinstance(ann, str):
        return None
    if '{fold}' in ann and record.get('fold') is not None:
        ann = ann.format(fold=record['fold'])
    if not osp.isabs(ann) and ds.get('data_root'):
        ann = osp.join(ds['data_root'], ann)
    return osp.abspath(ann)


def check_folds(result: Dict, folds_json: str) -> Dict:
    """Check fold results against the folds of ``make_folds.py``: one
    result per fold, each scored on its fold's test file, no subject in a
    fold's train and test files. Adds ``test_subjects`` and ``test_clips``
    to every fold; raises :class:`FoldResultError`."""
    with open(folds_json) as f:
        record = json.load(f)
    folds_dir = osp.dirname(osp.abspath(folds_json))
    if len(result['folds']) != record['k']:
        raise FoldResultError(
            f'{folds_json} has {record["k"]} folds, but '
            f'{len(result["folds"])} fold results were found: '
            + ', '.join(f['fold'] for f in result['folds']))
    tested = {}
    for spec in record['folds']:
        k = spec['fold']
        parts = {}
        for part in ('train', 'test'):
            path = _fold_annotation(folds_dir, record[part], k)
            parts[part] = _subjects(path)
        leak = sorted(set(parts['train'][0]) & set(parts['test'][0]))
        if leak:
            raise FoldResultError(
                f'fold {k}: subject(s) {", ".join(leak)} in both '
                f'{record["train"].format(fold=k)} and '
                f'{record["test"].format(fold=k)} (a subject leak)')
        for subj in sorted(set(parts['test'][0])):
            if subj in tested:
                raise FoldResultError(
                    f'subject {subj} is tested in folds {tested[subj]} and '
                    f'{k}')
            tested[subj] = k
        spec['_test_file'] = _fold_annotation(folds_dir, record['test'], k)
        spec['_counts'] = (sorted(set(parts['test'][0])), parts['test'][1])
    by_number = {s['fold']: s for s in record['folds']}
    for i, fold in enumerate(result['folds']):
        number = _fold_number(fold['fold'])
        spec = by_number.get(number if number is not None else i + 1)
        if spec is None:
            raise FoldResultError(
                f'{fold["fold"]}: no fold of that number in {folds_json}')
        recorded = _recorded_test_file(fold.get('provenance') or {})
        if recorded is not None and (
                not osp.exists(recorded) or
                not osp.samefile(recorded, spec['_test_file'])):
            raise FoldResultError(
                f'{fold["source"]}: scored on {recorded}, but fold '
                f'{spec["fold"]} of {folds_json} tests '
                f'{spec["_test_file"]}')
        fold['test_subjects'], fold['test_clips'] = spec['_counts']
    return result


def _subjects(path: str) -> Tuple[List[str], int]:
    """Subjects of a fold file (in file order, repeated) and its rows."""
    from s2d_mm.datasets.labelled_videos import parse_labelled_rows
    if not osp.isfile(path):
        raise FoldResultError(f'fold file {path} does not exist')
    try:
        rows = parse_labelled_rows(path)
    except ValueError as err:  # AnnotationError: file, line, reason
        raise FoldResultError(str(err)) from None
    missing = [r['line'] for r in rows if r['subject'] is None]
    if missing:
        raise FoldResultError(f'{path}, line {missing[0]}: no subject')
    return [r['subject'] for r in rows], len(rows)


def format_table(result: Dict) -> str:
    subjects = all('test_subjects' in f for f in result['folds'])
    extra = ' test subjects | clips |' if subjects else ''
    lines = ['| fold | UAR | WAR |' + extra,
             '|---|---:|---:|' + ('---|---:|' if subjects else '')]
    for f in result['folds']:
        cells = (f' {", ".join(f["test_subjects"])} | {f["test_clips"]} |'
                 if subjects else '')
        lines.append(f'| {f["fold"]} | {f["UAR"]:.2f} | {f["WAR"]:.2f} |' +
                     cells)
    m, s = result['mean'], result['std']
    pad = ' | |' if subjects else ''
    lines.append(f'| **mean ({len(result["folds"])} folds)** | '
                 f'**{m["UAR"]:.2f}** | **{m["WAR"]:.2f}** |' + pad)
    lines.append(f'| std | {s["UAR"]:.2f} | {s["WAR"]:.2f} |' + pad)
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('paths', nargs='+',
                   help='fold work dirs, metric JSON files, or one folder '
                   'holding fold1..foldK')
    p.add_argument('--prefix', default='test',
                   help='UARWARMetric file_prefix to read (default test)')
    p.add_argument('--expect', type=int, default=None,
                   help='fail unless exactly this many folds are found')
    p.add_argument('--out', help='also write the table (.md, .csv or .json)')
    p.add_argument('--folds', help='folds.json of tools/data/make_folds.py: '
                   'check the results against its subject folds')
    p.add_argument('--no-sample-check', action='store_true',
                   help='do not compare sample counts with the test '
                   'annotations (they are not on this machine)')
    args = p.parse_args(argv)
    try:
        result = aggregate(args.paths, args.prefix,
                           sample_check=not args.no_sample_check)
        if args.folds:
            check_folds(result, args.folds)
    except FoldResultError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for fold in result['folds']:
        if not fold['verified']:
            print(f"warning: {fold['fold']}: {fold['source']} has no "
                  'provenance record (not written by tools/test.py of this '
                  'version): fold and sample count unverified',
                  file=sys.stderr)
    if args.expect is not None and len(result['folds']) != args.expect:
        print(f'expected {args.expect} folds, found {len(result["folds"])}',
              file=sys.stderr)
        return 1
    table = format_table(result)
    print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        if args.out.endswith('.json'):
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
        elif args.out.endswith('.csv'):
            with open(args.out, 'w', newline='') as f:
                w = csv.writer(f)
                w.writerow(['fold', 'UAR', 'WAR'])
                for fold in result['folds']:
                    w.writerow([fold['fold'], fold['UAR'], fold['WAR']])
                w.writerow(['mean', result['mean']['UAR'],
                            result['mean']['WAR']])
        else:
            with open(args.out, 'w') as f:
                f.write(table + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
