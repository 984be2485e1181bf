"""tools/analysis/aggregate_folds.py: 5-fold mean from fold work dirs."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# the released per-fold DFEW results without oversampling (README)
FOLDS = [(61.56, 76.16), (59.93, 73.99), (61.33, 76.41), (62.75, 76.31),
         (63.51, 77.27)]


def load_tool():
    path = osp.join(REPO, 'tools/analysis/aggregate_folds.py')
    spec = importlib.util.spec_from_file_location('aggregate_folds', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_work_dirs(root):
    for k, (uar, war) in enumerate(FOLDS, start=1):
        run = osp.join(root, f'fold{k}', '20261128_120000')
        os.makedirs(run)
        if k % 2:  # metric dump written by UARWARMetric
            with open(osp.join(run, 'test_confusion_matrix.json'), 'w') as f:
                json.dump(dict(UAR=uar, WAR=war, classes=[],
                               confusion_matrix=[]), f)
            # an older, worse run of the same fold must be ignored
            old = osp.join(root, f'fold{k}', '20261127_000000')
            os.makedirs(old)
            with open(osp.join(old, 'test_confusion_matrix.json'), 'w') as f:
                json.dump(dict(UAR=1.0, WAR=1.0), f)
            os.utime(osp.join(old, 'test_confusion_matrix.json'), (0, 0))
        else:  # only mmengine's test log
            with open(osp.join(run, '20261128_120000.json'), 'w') as f:
                json.dump({'UAR': uar, 'WAR': war, 'recall/Happy': 80.0}, f)


def test_aggregate_five_folds(tmp_path, capsys):
    make_work_dirs(str(tmp_path))
    tool = load_tool()
    res = tool.aggregate([str(tmp_path)])
    assert [f['fold'] for f in res['folds']] == [f'fold{k}' for k in
                                                 range(1, 6)]
    assert res['mean']['UAR'] == pytest.approx(61.816)
    assert res['mean']['WAR'] == pytest.approx(76.028)
    assert res['std']['UAR'] == pytest.approx(np.std([f[0] for f in FOLDS]))
    out = tmp_path / 'table.csv'
    assert tool.main([str(tmp_path), '--expect', '5', '--out',
                      str(out)]) == 0
    text = capsys.readouterr().out
    assert '| **mean (5 folds)** | **61.82** | **76.03** |' in text
    assert out.read_text().splitlines()[-1].startswith('mean,61.81')


def test_missing_fold_result(tmp_path):
    os.makedirs(tmp_path / 'fold1')
    with pytest.raises(FileNotFoundError, match='no test_confusion_matrix'):
        load_tool().aggregate([str(tmp_path)])
