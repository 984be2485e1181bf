"""LandmarkErrorMetric: per-frame error distribution and off-box frames."""
import numpy as np
import pytest
from mmpose.registry import METRICS

from s2d_mm.evaluation import LandmarkErrorMetric, frame_errors, outside_box


def _sample(pred, gt, box, visible=None):
    k = len(gt)
    visible = np.ones(k) if visible is None else np.asarray(visible, float)
    return dict(
        pred_instances=dict(keypoints=np.asarray(pred, np.float32)[None]),
        gt_instances=dict(keypoints=np.asarray(gt, np.float32)[None],
                          keypoints_visible=visible[None],
                          bboxes=np.asarray(box, np.float32)[None]))


def test_frame_errors_and_mask():
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    pred[0, :, 0] = [3., 4., 5.]  # errors 3, 4, 5 -> mean 4
    pred[1, 0] = [6., 8.]         # 10, 0, 0
    np.testing.assert_allclose(frame_errors(pred, gt), [4., 10. / 3])
    mask = np.array([[True, False, False], [False, False, False]])
    err = frame_errors(pred, gt, mask)
    assert err[0] == 3. and np.isnan(err[1])


def test_outside_box_uses_the_margin():
    boxes = np.array([[0., 0., 100., 100.]] * 3)
    pred = np.full((3, 2, 2), 50.)
    pred[1, 0] = [-9., 50.]       # within a 10 % margin
    pred[2, 1] = [50., 111.]      # beyond it
    np.testing.assert_array_equal(outside_box(pred, boxes, 0.1),
                                  [False, False, True])
    np.testing.assert_array_equal(outside_box(pred, boxes, 0.0),
                                  [False, True, True])
    pred[0, 0, 0] = np.nan        # a non-finite prediction is off the box
    assert outside_box(pred, boxes, 0.1)[0]


def test_metric_reports_the_distribution():
    metric = METRICS.build(dict(type='LandmarkErrorMetric', thr=10.))
    assert isinstance(metric, LandmarkErrorMetric)
    gt = np.full((4, 2), 50.)
    box = [0., 0., 100., 100.]
    samples = [_sample(gt + [dx, 0.], gt, box) for dx in (1., 2., 3., 1000.)]
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert out['frame_error/median'] == pytest.approx(2.5)
    assert out['frame_error/mean'] == pytest.approx(1006. / 4)
    assert out['frame_error/max'] == pytest.approx(1000.)
    assert out['frame_error/over_10px'] == pytest.approx(25.)
    assert out['outside_box'] == pytest.approx(25.)


def test_metric_counts_nan_predictions_as_failures_and_needs_boxes():
    metric = LandmarkErrorMetric()
    gt = np.full((2, 2), 5.)
    pred = gt.copy()
    pred[0] = np.nan
    metric.process({}, [_sample(pred, gt, [0, 0, 10, 10]),
                        _sample(gt, gt, [0, 0, 10, 10])])
    out = metric.compute_metrics(metric.results)
    assert out['frame_error/max'] == np.inf
    assert out['frame_error/over_10px'] == 50. and out['outside_box'] == 50.
    bad = _sample(gt, gt, [0, 0, 10, 10])
    del bad['gt_instances']['bboxes']
    with pytest.raises(KeyError, match='bboxes'):
        metric.process({}, [bad])
    with pytest.raises(ValueError, match='thr'):
        LandmarkErrorMetric(thr=0)
