"""K stratified folds by subject: no person in both train and test.

Usage::

    python tools/data/make_folds.py data/my_faces/annotations.csv \\
        data/my_faces/folds --k 5 --seed 0

Reads a ``path,label,subject`` annotation (``tools/data/extract_faces.py``
writes one) and writes into OUT_DIR ``train_{1..K}.csv`` and
``test_{1..K}.csv`` (same columns; ``configs/s2d_custom.py`` reads them
with ``fold=k``) and ``folds.json`` (subjects and class counts per fold,
read by ``tools/analysis/aggregate_folds.py --folds``). Prints the class
counts of every fold.

Every subject goes whole into the test split of exactly one fold (group
k-fold), so a model is never tested on a person it was trained on;
within that constraint the folds are balanced per class (stratified): the
subjects, shuffled with ``--seed`` and taken from the largest, each go to
the fold where the per-class test shares stay closest to 1/K.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import Counter, OrderedDict


class FoldError(ValueError):
    """The annotation cannot be split into the folds asked for."""


def read_rows(ann_file: str):
    from s2d_mm.datasets.labelled_videos import parse_labelled_rows
    rows = parse_labelled_rows(ann_file)
    if not rows:
        raise FoldError(f'{ann_file}: no sample listed')
    for row in rows:
        if row['subject'] is None:
            raise FoldError(
                f'{ann_file}, line {row["line"]}: no subject column; folds '
                'by subject need path,label,subject (extract_faces.py '
                '--subject-regex, or a subject column in its input CSV)')
    return rows


def stratified_group_folds(labels, groups, k: int, seed: int = 0):
    """Fold (0..k-1) of every group.

    Greedy, seeded: groups are shuffled by ``seed``, then taken from the
    largest; each goes to the fold that keeps the per-class test shares
    closest to ``1/k`` (sum of squared deviations over folds and classes),
    ties to the fold with fewer samples, then the lower index.

    Returns:
        dict: group -> fold index.
    """
    import numpy as np
    classes = sorted(set(labels), key=str)
    cidx = {c: i for i, c in enumerate(classes)}
    per_group = OrderedDict()
    for lab, g in zip(labels, groups):
        per_group.setdefault(g, np.zeros(len(classes)))[cidx[lab]] += 1
    if len(per_group) < k:
        raise FoldError(f'{len(per_group)} subjects cannot fill {k} folds '
                        '(each fold needs at least one test subject)')
    total = np.sum(list(per_group.values()), axis=0)
    rng = np.random.default_rng(seed)
    order = list(per_group)
    rng.shuffle(order)
    order.sort(key=lambda g: -per_group[g].sum())  # stable: shuffled ties
    folds = np.zeros((k, len(classes)))
    assign = {}
    empty = list(range(k))
    for n_left, g in zip(range(len(order), 0, -1), order):
        counts = per_group[g]
        candidates = range(k)
        if len(empty) >= n_left:  # every fold must get a subject
            candidates = list(empty)
        best = None
        for f in candidates:
            trial = folds.copy()
            trial[f] += counts
            cost = float((((trial / total) - 1.0 / k) ** 2).sum())
            key = (round(cost, 12), folds[f].sum(), f)
            if best is None or key < best[0]:
                best = (key, f)
        f = best[1]
        folds[f] += counts
        assign[g] = f
        if f in empty:
            empty.remove(f)
    return assign


def make_folds(ann_file: str, out_dir: str, k: int = 5, seed: int = 0,
               classes=None) -> dict:
    """Write the fold files; returns the ``folds.json`` record."""
    if k < 2:
        raise FoldError(f'--k must be >= 2, got {k}')
    rows = read_rows(ann_file)
    labels = [r['label'] for r in rows]
    if classes:
        known = {c.lower(): c for c in classes}
        for r in rows:
            if r['label'].lower() not in known and not r['label'].isdigit():
                raise FoldError(f'{ann_file}, line {r["line"]}: label '
                                f'{r["label"]!r} is not one of {classes}')
        order = list(classes)
    else:
        order = list(OrderedDict.fromkeys(labels))
    assign = stratified_group_folds(labels, [r['subject'] for r in rows], k,
                                    seed)
    os.makedirs(out_dir, exist_ok=True)
    record = dict(annotation=osp.abspath(ann_file), k=k, seed=seed,
                  classes=order, train='train_{fold}.csv',
                  test='test_{fold}.csv', folds=[])
    for f in range(k):
        test = [r for r in rows if assign[r['subject']] == f]
        train = [r for r in rows if assign[r['subject']] != f]
        for name, part in (('train', train), ('test', test)):
            _write(osp.join(out_dir, f'{name}_{f + 1}.csv'), part)
        test_subj = sorted({r['subject'] for r in test})
        train_subj = sorted({r['subject'] for r in train})
        assert not set(test_subj) & set(train_subj)
        record['folds'].append(dict(
            fold=f + 1, test_subjects=test_subj, train_subjects=train_subj,
            test_counts=_counts(test, order),
            train_counts=_counts(train, order)))
    _atomic_json(osp.join(out_dir, 'folds.json'), record)
    return record


def _counts(rows, order):
    c = Counter(r['label'].lower() for r in rows)
    return {name: c.get(str(name).lower(), 0) for name in order}


def _write(path, rows):
    import csv
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['path', 'label', 'subject'])
        for r in rows:
            w.writerow([r['path'], r['label'], r['subject']])
    os.replace(tmp, path)


def _atomic_json(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def format_counts(record: dict) -> str:
    """Per-fold table: test subjects, test and train counts per class."""
    names = record['classes']
    lines = ['| fold | test subjects | ' + ' | '.join(
        f'{n} test/train' for n in names) + ' |',
        '|---|---|' + '---:|' * len(names)]
    for f in record['folds']:
        cells = [f'{f["test_counts"][n]}/{f["train_counts"][n]}'
                 for n in names]
        lines.append(f'| {f["fold"]} | {", ".join(f["test_subjects"])} | ' +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('annotation', help='path,label,subject CSV')
    p.add_argument('out_dir', help='folder for train_k.csv / test_k.csv')
    p.add_argument('--k', type=int, default=5, help='number of folds')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--classes', help='comma-separated class list (the '
                   "config's), for the column order and a label check")
    args = p.parse_args(argv)
    classes = [c.strip() for c in args.classes.split(',')] \
        if args.classes else None
    from s2d_mm.datasets.utils import AnnotationError
    try:
        record = make_folds(args.annotation, args.out_dir, args.k, args.seed,
                            classes)
    except (FoldError, AnnotationError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(format_counts(record))
    for f in record['folds']:
        missing = [n for n, c in f['test_counts'].items() if c == 0]
        if missing:
            print(f'warning: fold {f["fold"]} has no test sample of '
                  f'{", ".join(map(str, missing))} (too few subjects with '
                  'that class for k folds)', file=sys.stderr)
    print(f'wrote {args.k} folds (seed {args.seed}) to {args.out_dir}: '
          'train_{fold}.csv, test_{fold}.csv, folds.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
