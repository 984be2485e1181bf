"""UAR / WAR, per-class recall and confusion matrix for FER benchmarks."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmaction.evaluation import ConfusionMatrix
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from ..registry import MMACTION_METRICS, MMPRETRAIN_METRICS, register_in


def _item(x):
    """mmaction 1.1 wraps labels/scores in ``{'item': tensor}``."""
    if isinstance(x, dict) and 'item' in x:
        return x['item']
    return x


def uar_war(confusion: np.ndarray) -> Dict[str, object]:
    """UAR, WAR and per-class recall from a confusion matrix.

    Args:
        confusion: ``(C, C)``, rows = ground truth, columns = prediction.

    Returns:
        dict with ``UAR`` and ``WAR`` in percent, ``recall`` ``(C,)`` in
        percent (NaN for classes absent from the ground truth) and
        ``present`` ``(C,)`` bool. UAR averages the recalls of the classes
        present in the ground truth; a present class that is never
        predicted counts with recall 0.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    support = confusion.sum(1)
    present = support > 0
    recall = np.full(len(confusion), np.nan)
    recall[present] = 100.0 * np.diag(confusion)[present] / support[present]
    total = confusion.sum()
    war = 100.0 * np.trace(confusion) / total if total else float('nan')
    uar = float(np.mean(recall[present])) if present.any() else float('nan')
    return dict(UAR=uar, WAR=float(war), recall=recall, present=present)


def plot_confusion_matrix(confusion: np.ndarray, classes: Sequence[str],
                          path: str, title: str = '') -> None:
    """Save the confusion matrix as PNG, drawn by mmaction2's
    :meth:`ConfusionMatrix.plot`.

    What this adds to mmaction2's plot: each row is shown as per-class
    recall in percent (rows normalised by the class's sample count, so the
    diagonal reads as the recalls UAR averages; DFEW, FERV39k and MAFW are
    strongly imbalanced and raw counts would hide the small classes), and
    the title carries UAR / WAR.
    """
    import matplotlib.pyplot as plt
    import torch
    from mmaction.evaluation.metrics import ConfusionMatrix

    confusion = np.asarray(confusion, dtype=float)
    rows = confusion.sum(1, keepdims=True)
    recall = np.divide(100 * confusion, rows, out=np.zeros_like(confusion),
                       where=rows > 0)
    fig = ConfusionMatrix.plot(
        torch.from_numpy(np.rint(recall).astype(np.int64)),
        include_values=True, cmap='Blues', classes=list(classes),
        show=False)
    if title:
        fig.axes[0].set_title(title + '  (row: recall %)', pad=24)
    fig.savefig(path, dpi=100, bbox_inches='tight')
    plt.close(fig)


@register_in(MMACTION_METRICS, MMPRETRAIN_METRICS)
class UARWARMetric(BaseMetric):
    """UAR (mean per-class recall) and WAR (accuracy) of single-label FER.

    Reported keys (percent): ``UAR``, ``WAR`` and ``recall/<class>`` for
    each class. The confusion matrix is written as
    ``<file_prefix>_confusion_matrix.json`` (matrix, class names, recalls,
    UAR, WAR) and ``.png`` into ``out_dir``; with ``out_dir=None`` into the
    running experiment's log folder (``work_dir/<timestamp>/``), found
    through mmengine's current logger; nothing is written outside a runner
    unless ``out_dir`` is given.

    Works with mmaction2 (``pred_scores``/``gt_labels``, 1.1) and
    mmpretrain (``pred_score``/``gt_label``) data samples; for multi-view
    mmaction2 tests the recognizer already averages the views
    (``average_clips='prob'``), so one score vector per video arrives here.

    Args:
        num_classes (int, optional): defaults to the dataset's classes.
        out_dir (str, optional): where to write the confusion matrix.
        file_prefix (str): file name prefix, e.g. ``'val'`` / ``'test'``.
        save_files (bool): write the JSON and PNG at all.
        provenance (dict, optional): what produced the scores, written into
            the JSON as ``provenance`` (``tools/test.py`` records config,
            checkpoint path and sha256 prefix, fold and test dataset, which
            ``tools/analysis/aggregate_folds.py`` verifies).
    """

    default_prefix = None

    def __init__(self,
                 num_classes: Optional[int] = None,
                 out_dir: Optional[str] = None,
                 file_prefix: str = 'eval',
                 save_files: bool = True,
                 provenance: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.out_dir = out_dir
        self.file_prefix = file_prefix
        self.save_files = save_files
        self.provenance = dict(provenance) if provenance else None
        self.last_files: List[str] = []

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = sample.get('pred_score', sample.get('pred_scores'))
            gt = _item(sample.get('gt_label', sample.get('gt_labels')))
            if gt is None:
                raise KeyError('UARWARMetric: data sample has no gt_label')
            gt = int(torch.as_tensor(gt).reshape(-1)[0])
            if score is not None:
                score = torch.as_tensor(_item(score)).reshape(-1)
                pred = int(score.argmax())
                n = score.numel()
            else:
                pred = int(torch.as_tensor(
                    _item(sample.get('pred_label',
                                     sample.get('pred_labels')))).reshape(-1)[0])
                n = None
            self.results.append(dict(pred=pred, gt=gt, num_classes=n))

    def _classes(self, num_classes: int) -> List[str]:
        meta = self.dataset_meta or {}
        classes = meta.get('classes')
        if classes and len(classes) == num_classes:
            return list(classes)
        return [str(i) for i in range(num_classes)]

    def _num_classes(self, results: List[dict]):
        """The class count and where it comes from."""
        if self.num_classes is not None:
            return self.num_classes, 'num_classes'
        if self.dataset_meta and self.dataset_meta.get('classes'):
            return len(self.dataset_meta['classes']), "the dataset's classes"
        sizes = {r['num_classes'] for r in results} - {None}
        if len(sizes) != 1:
            raise ValueError(
                'UARWARMetric: set num_classes (no dataset classes, and the '
                f'scores have {sorted(sizes) or "no"} widths)')
        return sizes.pop(), 'the width of the scores'

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        num_classes, origin = self._num_classes(results)
        # a model of another class count would otherwise be scored on a
        # confusion matrix whose rows shift by the extra columns
        widths = sorted({r['num_classes'] for r in results} - {None})
        if widths and widths != [num_classes]:
            raise ValueError(
                f'UARWARMetric: the prediction scores have '
                f'{" / ".join(map(str, widths))} columns but there are '
                f'{num_classes} classes ({origin}); the model and the '
                'dataset disagree on the class set')
        preds = torch.tensor([r['pred'] for r in results])
        gts = torch.tensor([r['gt'] for r in results])
        for name, labels in (('ground-truth', gts), ('predicted', preds)):
            bad = labels[(labels < 0) | (labels >= num_classes)] \
                if len(labels) else labels
            if len(bad):
                raise ValueError(
                    f'UARWARMetric: {name} label {int(bad[0])} outside '
                    f'0..{num_classes - 1} ({num_classes} classes, from '
                    f'{origin}; {len(bad)} such sample(s))')
        confusion = ConfusionMatrix.calculate(
            preds, gts, num_classes=num_classes).numpy()
        stats = uar_war(confusion)
        classes = self._classes(num_classes)
        absent = [c for c, p in zip(classes, stats['present']) if not p]
        if absent:
            print_log(f'UARWARMetric: classes absent from the ground truth '
                      f'are left out of UAR: {absent}', logger='current',
                      level=30)
        metrics = dict(UAR=stats['UAR'], WAR=stats['WAR'])
        for c, r in zip(classes, stats['recall']):
            metrics[f'recall/{c}'] = float(r)
        if self.save_files:
            self._save(confusion, classes, stats)
        return metrics

    def _resolve_out_dir(self) -> Optional[str]:
        if self.out_dir is not None:
            return self.out_dir
        # a Runner's logger writes work_dir/<timestamp>/<timestamp>.log
        log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
        return osp.dirname(log_file) if log_file else None

    def _save(self, confusion: np.ndarray, classes: List[str],
              stats: dict) -> None:
        out_dir = self._resolve_out_dir()
        if out_dir is None:
            return
        os.makedirs(out_dir, exist_ok=True)
        stem = osp.join(out_dir, f'{self.file_prefix}_confusion_matrix')
        record = dict(
            classes=classes,
            confusion_matrix=confusion.astype(int).tolist(),
            per_class_recall={
                c: (None if np.isnan(r) else float(r))
                for c, r in zip(classes, stats['recall'])
            },
            UAR=stats['UAR'],
            WAR=stats['WAR'],
            num_samples=int(confusion.sum()))
        if self.provenance:
            record['provenance'] = self.provenance
        with open(stem + '.json', 'w') as f:
            json.dump(record, f, indent=2, default=str)
        plot_confusion_matrix(
            confusion, classes, stem + '.png',
            title=f'UAR {stats["UAR"]:.2f}  WAR {stats["WAR"]:.2f}')
        self.last_files = [stem + '.json', stem + '.png']
        print_log(f'confusion matrix written to {stem}.json/.png',
                  logger='current')
