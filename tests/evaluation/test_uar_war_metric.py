"""UAR / WAR through the mm evaluator on known predictions."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import s2d_mm  # noqa: F401
from s2d_mm.evaluation import UARWARMetric, uar_war

CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry')
GT = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
PRED = [0, 0, 1, 1, 0, 2, 2, 0, 1, 0]  # Angry is never predicted
# rows = ground truth: Happy 2/3, Sad 1/2, Neutral 2/4, Angry 0/1
EXPECTED_RECALL = [200 / 3, 50.0, 50.0, 0.0]
EXPECTED_UAR = (200 / 3 + 50 + 50 + 0) / 4  # 41.666...
EXPECTED_WAR = 50.0  # 5 of 10


def _scores(pred, num_classes=4):
    s = torch.full((num_classes, ), 0.1)
    s[pred] = 0.7
    return s


def mmaction_samples():
    out = []
    for g, p in zip(GT, PRED):
        ds = ActionDataSample().set_gt_labels(g)
        ds.set_pred_score(_scores(p))
        out.append(ds.to_dict())
    return out


def mmpretrain_samples():
    out = []
    for g, p in zip(GT, PRED):
        ds = DataSample().set_gt_label(g).set_pred_score(_scores(p))
        out.append(ds.to_dict())
    return out


@pytest.mark.parametrize('scope,make', [('mmaction', mmaction_samples),
                                        ('mmpretrain', mmpretrain_samples)])
def test_uar_war_known_predictions(tmp_path, scope, make):
    with DefaultScope.overwrite_default_scope(scope):
        evaluator = Evaluator(
            dict(type='UARWARMetric', out_dir=str(tmp_path),
                 file_prefix='test'))
    evaluator.dataset_meta = dict(classes=CLASSES)
    samples = make()
    evaluator.process(samples[:4])
    evaluator.process(samples[4:])
    metrics = evaluator.evaluate(len(samples))
    assert metrics['UAR'] == pytest.approx(EXPECTED_UAR)
    assert metrics['WAR'] == pytest.approx(EXPECTED_WAR)
    for c, r in zip(CLASSES, EXPECTED_RECALL):
        assert metrics[f'recall/{c}'] == pytest.approx(r)

    with open(tmp_path / 'test_confusion_matrix.json') as f:
        rec = json.load(f)
    assert rec['classes'] == list(CLASSES)
    assert rec['confusion_matrix'] == [[2, 1, 0, 0], [1, 1, 0, 0],
                                       [1, 1, 2, 0], [1, 0, 0, 0]]
    assert rec['UAR'] == pytest.approx(EXPECTED_UAR)
    assert rec['per_class_recall']['Angry'] == 0.0
    png = tmp_path / 'test_confusion_matrix.png'
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_registered_in_both_scopes():
    from mmaction.registry import METRICS as A
    from mmpretrain.registry import METRICS as P
    assert A.get('UARWARMetric') is UARWARMetric
    assert P.get('UARWARMetric') is UARWARMetric


def test_absent_class_left_out_of_uar():
    conf = np.array([[3, 1, 0], [0, 0, 0], [1, 0, 1]])
    stats = uar_war(conf)
    assert np.isnan(stats['recall'][1])
    assert stats['UAR'] == pytest.approx((75 + 50) / 2)
    assert stats['WAR'] == pytest.approx(4 / 6 * 100)


def test_no_files_without_runner_or_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metric = UARWARMetric(num_classes=4)
    metric.process(None, mmaction_samples())
    metrics = metric.evaluate(len(GT))
    assert metrics['WAR'] == pytest.approx(EXPECTED_WAR)
    assert metric.last_files == []
    assert not osp.exists(tmp_path / 'eval_confusion_matrix.json')


def test_num_classes_from_scores_and_label_range():
    metric = UARWARMetric(save_files=False)  # no dataset_meta, no num_classes
    metric.process(None, mmpretrain_samples())
    metrics = metric.evaluate(len(GT))
    assert metrics['UAR'] == pytest.approx(EXPECTED_UAR)
    assert sorted(k for k in metrics if k.startswith('recall/')) == \
        [f'recall/{i}' for i in range(4)]
    metric = UARWARMetric(num_classes=4, save_files=False)
    samples = mmpretrain_samples()
    samples[-1]['gt_label'] = torch.tensor([4])
    metric.process(None, samples)
    with pytest.raises(ValueError, match=r'ground-truth label 4 outside 0..3'):
        metric.evaluate(len(GT))


@pytest.mark.parametrize('gt_last', [0, 6])  # 6 = C - 1: reshape crash before
def test_scores_wider_than_the_class_set_are_refused(gt_last):
    """8-column scores on 7-class data: bincount(C * gt + pred) would book
    class-7 predictions into the next row."""
    metric = UARWARMetric(save_files=False)
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(7)])
    samples = []
    for g, p in [(0, 7), (1, 1), (gt_last, 7)]:
        ds = ActionDataSample().set_gt_labels(g)
        ds.set_pred_score(_scores(p, num_classes=8))
        samples.append(ds.to_dict())
    metric.process(None, samples)
    with pytest.raises(ValueError, match=r"scores have 8 columns but there "
                       r"are 7 classes \(the dataset's classes\)"):
        metric.evaluate(len(samples))


def test_predicted_labels_outside_the_class_set_are_refused():
    metric = UARWARMetric(num_classes=3, save_files=False)
    metric.process(None, [
        DataSample().set_gt_label(0).set_pred_label(1).to_dict(),
        DataSample().set_gt_label(2).set_pred_label(3).to_dict()])
    with pytest.raises(ValueError, match=r'predicted label 3 outside 0..2 '
                       r'\(3 classes, from num_classes; 1 such sample'):
        metric.evaluate(2)
