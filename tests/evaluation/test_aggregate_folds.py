"""tools/analysis/aggregate_folds.py: 5-fold mean from fold work dirs."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from s2d_testing import load_script

# the released per-fold DFEW results without oversampling (README)
FOLDS = [(61.56, 76.16), (59.93, 73.99), (61.33, 76.41), (62.75, 76.31),
         (63.51, 77.27)]


def load_tool():
    return load_script('tools', 'analysis', 'aggregate_folds.py')


def make_work_dirs(root):
    for k, (uar, war) in enumerate(FOLDS, start=1):
        run = osp.join(root, f'fold{k}', '20261128_120000')
        os.makedirs(run)
        if k % 2:  # metric dump written by UARWARMetric (tools/test.py)
            with open(osp.join(run, 'test_confusion_matrix.json'), 'w') as f:
                json.dump(dict(UAR=uar, WAR=war, classes=[],
                               confusion_matrix=[], num_samples=10,
                               provenance=dict(fold=k, checkpoint='x.pth')),
                          f)
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
    captured = capsys.readouterr()
    text = captured.out
    assert '| **mean (5 folds)** | **61.82** | **76.03** |' in text
    assert out.read_text().splitlines()[-1].startswith('mean,61.81')
    assert [f['verified'] for f in res['folds']] == [True, False] * 2 + [True]
    err = captured.err
    assert 'fold2' in err and 'unverified' in err and 'fold1' not in err


def test_two_results_for_one_fold_are_refused(tmp_path, capsys):
    make_work_dirs(str(tmp_path))
    # an older re-test left beside the newer one: which one is meant?
    old = osp.join(tmp_path, 'fold3', '20261127_000000')
    os.makedirs(old)
    with open(osp.join(old, 'test_confusion_matrix.json'), 'w') as f:
        json.dump(dict(UAR=1.0, WAR=1.0, provenance=dict(fold=3)), f)
    os.utime(osp.join(old, 'test_confusion_matrix.json'), (0, 0))
    tool = load_tool()
    assert tool.main([str(tmp_path), '--expect', '5']) == 1
    err = capsys.readouterr().err
    assert f"{osp.join(tmp_path, 'fold3')} holds 2 results" in err
    assert '20261127_000000' in err and '20261128_120000' in err


def test_result_of_another_fold_is_refused(tmp_path, capsys):
    make_work_dirs(str(tmp_path))
    path = osp.join(tmp_path, 'fold5', '20261128_120000',
                    'test_confusion_matrix.json')
    with open(path, 'w') as f:  # fold 1's test copied into fold5/
        json.dump(dict(UAR=61.56, WAR=76.16, num_samples=10,
                       provenance=dict(fold=1, checkpoint='f1/e100.pth')), f)
    assert load_tool().main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'the result of fold 1 (checkpoint f1/e100.pth) is in the folder ' \
        'of fold 5' in err


def test_sample_count_is_checked_against_the_annotations(tmp_path, capsys):
    from s2d_testing.fake_data import make_fake_dfew
    tree = make_fake_dfew(str(tmp_path / 'DFEW'), num_per_class=1,
                          num_frames=2, size=8, test_per_class=2)
    test_ds = dict(type='DFEWDataset', ann_file=tree['test_ann'], fold=1,
                   label_base=0,
        data_prefix=dict(video=tree['frame_root']), test_mode=True)
    n = len(tree['test_labels'])  # 14
    for k, scored in ((1, n), (2, n - 3)):  # fold 2: a test that stopped
        run = tmp_path / 'res' / f'fold{k}'
        run.mkdir(parents=True)
        record = dict(UAR=50.0, WAR=50.0, num_samples=scored,
                      provenance=dict(fold=k, default_scope='mmaction',
                                      test_dataset=test_ds))
        (run / 'test_confusion_matrix.json').write_text(json.dumps(record))
    tool = load_tool()
    assert tool.main([str(tmp_path / 'res')]) == 1
    err = capsys.readouterr().err
    assert f'{n - 3} samples scored, but the test annotations' in err
    assert f'hold {n}: a partial or stale test' in err
    assert 'fold2' in err
    # without the annotations at hand, the check can be skipped knowingly
    assert tool.main([str(tmp_path / 'res'), '--no-sample-check']) == 0


def test_missing_fold_result(tmp_path):
    os.makedirs(tmp_path / 'fold1')
    with pytest.raises(FileNotFoundError, match='no test_confusion_matrix'):
        load_tool().aggregate([str(tmp_path)])
