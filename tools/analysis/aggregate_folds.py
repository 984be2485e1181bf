"""Average UAR / WAR over the folds of DFEW or MAFW (5-fold protocol).

Each fold's result is read from its work dir, as ``tools/test.py`` leaves
it: the newest ``<prefix>_confusion_matrix.json`` written by
``UARWARMetric`` (default prefix ``test``), or failing that the newest
mmengine test log ``<timestamp>/<timestamp>.json`` holding ``UAR``/``WAR``.

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


def _newest(paths: List[str]) -> Optional[str]:
    return max(paths, key=osp.getmtime) if paths else None


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


def read_fold(path: str, prefix: str = 'test') -> Dict:
    """Result of one fold: a metric JSON file or a fold work dir."""
    if osp.isfile(path):
        with open(path) as f:
            rec = json.load(f)
        if 'UAR' in rec and 'WAR' in rec:
            return dict(UAR=float(rec['UAR']), WAR=float(rec['WAR']),
                        num_samples=rec.get('num_samples'), source=path)
        found = _from_log(path)
        if found:
            return found
        raise ValueError(f'{path} holds no UAR/WAR')
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} is neither a file nor a folder')
    cm = _newest(glob.glob(osp.join(path, '**',
                                    f'{prefix}_confusion_matrix.json'),
                           recursive=True))
    if cm:
        return read_fold(cm, prefix)
    logs = [p for p in glob.glob(osp.join(path, '**', '*.json'),
                                 recursive=True)
            if re.fullmatch(r'\d{8}_\d{6}\.json', osp.basename(p))]
    for log in sorted(logs, key=osp.getmtime, reverse=True):
        found = _from_log(log)
        if found:
            return found
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


def aggregate(paths: List[str], prefix: str = 'test') -> Dict:
    folds = []
    for name, path in find_folds(paths):
        res = read_fold(path, prefix)
        res['fold'] = name
        folds.append(res)
    uar = np.array([f['UAR'] for f in folds])
    war = np.array([f['WAR'] for f in folds])
    return dict(folds=folds, mean=dict(UAR=float(uar.mean()),
                                       WAR=float(war.mean())),
                std=dict(UAR=float(uar.std()), WAR=float(war.std())))


def format_table(result: Dict) -> str:
    lines = ['| fold | UAR | WAR |', '|---|---:|---:|']
    for f in result['folds']:
        lines.append(f'| {f["fold"]} | {f["UAR"]:.2f} | {f["WAR"]:.2f} |')
    m, s = result['mean'], result['std']
    lines.append(f'| **mean ({len(result["folds"])} folds)** | '
                 f'**{m["UAR"]:.2f}** | **{m["WAR"]:.2f}** |')
    lines.append(f'| std | {s["UAR"]:.2f} | {s["WAR"]:.2f} |')
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
    args = p.parse_args(argv)
    result = aggregate(args.paths, args.prefix)
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
