"""Per-frame landmark error: its distribution, not only its mean."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import MMPOSE_METRICS


def frame_errors(pred: np.ndarray, gt: np.ndarray,
                 mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Mean point-to-point distance of every frame.

    Args:
        pred, gt: ``(N, K, 2)`` landmark coordinates (pixels).
        mask: ``(N, K)`` visibility; invisible points are left out (a frame
            with none visible gets NaN). Default: all visible.

    Returns:
        np.ndarray: ``(N,)`` per-frame mean error, pixels.
    """
    dist = np.linalg.norm(np.asarray(pred, np.float64) -
                          np.asarray(gt, np.float64), axis=-1)
    if mask is None:
        return dist.mean(-1)
    mask = np.asarray(mask, bool)
    count = mask.sum(-1)
    total = np.where(mask, dist, 0.).sum(-1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(count > 0, total / count, np.nan)


def outside_box(pred: np.ndarray, boxes: np.ndarray,
                margin: float) -> np.ndarray:
    """Whether any landmark of a frame lies outside its box grown by
    ``margin`` times the box size on every side.

    Args:
        pred: ``(N, K, 2)`` coordinates; boxes: ``(N, 4)`` ``x1, y1, x2, y2``.

    Returns:
        np.ndarray: ``(N,)`` bool.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    size = boxes[:, 2:] - boxes[:, :2]
    lo = (boxes[:, :2] - margin * size)[:, None]
    hi = (boxes[:, 2:] + margin * size)[:, None]
    pred = np.asarray(pred, np.float64)
    return ((pred < lo) | (pred > hi) | ~np.isfinite(pred)).any((1, 2))


@MMPOSE_METRICS.register_module()
class LandmarkErrorMetric(BaseMetric):
    """Distribution of the per-frame landmark error of a top-down model.

    mmpose's ``EPE`` and ``NME`` average over all points of all frames, so a
    few frames predicted far off dominate them without saying so. This
    metric reports, over the per-frame mean point error (pixels of the
    original image):

    - ``frame_error/median``, ``frame_error/mean``, ``frame_error/max``;
    - ``frame_error/over_<thr>px``: share of frames (percent) whose error
      exceeds ``thr`` pixels;
    - ``outside_box``: share of frames (percent) with a landmark outside
      the ground-truth box grown by ``box_margin`` of its size each side.

    Reads what mmpose's data samples carry: ``pred_instances.keypoints``,
    ``gt_instances.keypoints`` / ``keypoints_visible`` / ``bboxes``.

    Args:
        thr (float): Error threshold in pixels. Default: 10.
        box_margin (float): Margin around the box, as a fraction of its
            size. Default: 0.1.
        collect_device, prefix: As in :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = ''

    def __init__(self,
                 thr: float = 10.,
                 box_margin: float = 0.1,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if thr <= 0 or box_margin < 0:
            raise ValueError('thr must be > 0 and box_margin >= 0, got '
                             f'thr={thr}, box_margin={box_margin}')
        self.thr = thr
        self.box_margin = box_margin

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt = sample['gt_instances']
            if 'bboxes' not in gt:
                raise KeyError('LandmarkErrorMetric needs gt_instances.bboxes '
                               '(the box the top-down model was given)')
            pred = np.asarray(sample['pred_instances']['keypoints'])
            self.results.append(
                dict(
                    pred=pred[:1],
                    gt=np.asarray(gt['keypoints'])[:1],
                    mask=np.asarray(gt['keypoints_visible']).reshape(
                        1, -1).astype(bool),
                    box=np.asarray(gt['bboxes'], np.float64).reshape(-1,
                                                                    4)[:1]))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.concatenate([r['pred'] for r in results])
        gt = np.concatenate([r['gt'] for r in results])
        mask = np.concatenate([r['mask'] for r in results])
        boxes = np.concatenate([r['box'] for r in results])
        # frames without a visible point say nothing; a non-finite
        # prediction is an infinitely wrong one
        err = frame_errors(pred, gt, mask)[mask.any(-1)]
        err[~np.isfinite(err)] = np.inf
        thr = f'{self.thr:g}'
        return {
            'frame_error/median': float(np.median(err)),
            'frame_error/mean': float(np.mean(err)),
            'frame_error/max': float(np.max(err)),
            f'frame_error/over_{thr}px': float(100. * np.mean(err > self.thr)),
            'outside_box': float(
                100. * outside_box(pred, boxes, self.box_margin).mean()),
        }
