"""tools/data/make_folds.py: k stratified folds by subject."""
import csv
import json
import os.path as osp
from collections import Counter

from .conftest import load_tool


def _ann(tmp_path, subjects=8, per_class=(3, 1, 2)):
    rows = ['path,label,subject']
    for s in range(subjects):
        for c, n in zip(('Happy', 'Sad', 'Angry'), per_class):
            for k in range(n + s % 2):
                rows.append(f's{s}_{c}_{k},{c},s{s}')
    path = tmp_path / 'annotations.csv'
    path.write_text('\n'.join(rows) + '\n')
    return str(path)


def _read(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_folds_keep_subjects_apart_and_classes_balanced(tmp_path, capsys):
    folds = load_tool('data/make_folds')
    ann = _ann(tmp_path)
    out = str(tmp_path / 'folds')
    assert folds.main([ann, out, '--k', '4', '--seed', '3']) == 0
    printed = capsys.readouterr().out
    assert '| fold | test subjects | Happy test/train | Sad test/train | ' \
        'Angry test/train |' in printed
    everything = _read(ann)
    tested = []
    for k in range(1, 5):
        train = _read(osp.join(out, f'train_{k}.csv'))
        test = _read(osp.join(out, f'test_{k}.csv'))
        assert sorted(r['path'] for r in train + test) == \
            sorted(r['path'] for r in everything)
        assert not {r['subject'] for r in train} & \
            {r['subject'] for r in test}
        tested += sorted({r['subject'] for r in test})
        # 2 subjects per fold: one of each size, so every fold has the
        # same class counts (4 Happy ... per pair of an even and odd one)
        assert Counter(r['label'] for r in test) == \
            Counter(Happy=7, Sad=3, Angry=5)
        assert f'| {k} | ' in printed
    assert sorted(tested) == [f's{s}' for s in range(8)]
    record = json.load(open(osp.join(out, 'folds.json')))
    assert record['k'] == 4 and record['seed'] == 3
    assert record['folds'][0]['test_counts'] == dict(Happy=7, Sad=3, Angry=5)
    # seeded: the same seed gives the same folds, another seed may not
    assert folds.main([ann, str(tmp_path / 'again'), '--k', '4', '--seed',
                       '3']) == 0
    for k in range(1, 5):
        assert _read(osp.join(out, f'test_{k}.csv')) == \
            _read(str(tmp_path / 'again' / f'test_{k}.csv'))


def test_refusals(tmp_path, capsys):
    folds = load_tool('data/make_folds')
    assert folds.main([_ann(tmp_path, subjects=2), str(tmp_path / 'o'),
                       '--k', '3']) == 1
    assert '2 subjects cannot fill 3 folds' in capsys.readouterr().err
    bare = tmp_path / 'bare.csv'
    bare.write_text('a,Happy\nb,Sad\n')
    assert folds.main([str(bare), str(tmp_path / 'o')]) == 1
    assert f'{bare}, line 1: no subject column' in capsys.readouterr().err
    assert folds.main([_ann(tmp_path), str(tmp_path / 'o'), '--classes',
                       'Happy,Sad']) == 1
    assert "label 'Angry' is not one of" in capsys.readouterr().err
