"""Start the demo landmark network at the mean shape of its training set.

The released MobileFaceNet ends in ``linear -> BatchNorm1d``: in training
mode each of the 136 output coordinates is normalised over the batch, so
the batch mean of a coordinate *is* the BatchNorm bias and its spread *is*
the BatchNorm weight. From scratch these start at 0 and 1, i.e. at a
random face spread over the whole frame (normalised coordinates ~ N(0, 1)
against targets near 0.5 +- 0.05), and AdamW moves each of them by about
one learning rate per step: ~0.1 in total over a 48-iteration run (the
small set of the tests), ~0.6 over the demo's 424. A short run therefore
ends with the bias and weight still far from the data; the eval-mode
output, which also divides by running statistics that lag the fast
changing layer, lands ~11 px off (worse than the 3 px of the constant mean
face) and, depending on the CPU's rounding, partly outside the frame.

:class:`MeanShapeInitHook` sets the bias to the mean landmark position and
the weight to its spread, both read from the training annotations in the
network's normalised input frame (``RegressionLabel``), before the first
iteration, like the mean-shape start of cascaded shape regression. The
network then learns the deviations from the mean shape from the first step.
"""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def mean_shape(data_infos, input_size, flip=True):
    """Mean and spread of the landmarks in the normalised input frame.

    Args:
        data_infos: mmpose data infos (``keypoints`` ``(1, K, 2)``,
            ``bbox_center`` ``(1, 2)``, ``bbox_scale`` ``(1, 2)``, and
            ``flip_indices`` when ``flip``).
        input_size: ``(w, h)`` of the network input; the box is widened to
            its aspect ratio as ``TopdownAffine`` does.
        flip: also count each face mirrored (``RandomFlip`` in training).

    Returns:
        ``(mean, std)``, each ``(K * 2,)`` float32, x and y interleaved as
        the head's output.
    """
    aspect = input_size[0] / input_size[1]
    shapes = []
    for info in data_infos:
        kp = np.asarray(info['keypoints'], np.float64)[0]
        center = np.asarray(info['bbox_center'], np.float64)[0]
        w, h = np.asarray(info['bbox_scale'], np.float64)[0]
        w, h = (w, w / aspect) if w > h * aspect else (h * aspect, h)
        norm = (kp - center) / (w, h) + 0.5
        shapes.append(norm)
        if flip:
            mirrored = norm[info['flip_indices']].copy()
            mirrored[:, 0] = 1 - mirrored[:, 0]
            shapes.append(mirrored)
    if not shapes:
        raise ValueError('mean_shape: no training annotations')
    flat = np.stack(shapes).reshape(len(shapes), -1)
    return flat.mean(0).astype(np.float32), flat.std(0).astype(np.float32)


@HOOKS.register_module()
class MeanShapeInitHook(Hook):
    """Before training from scratch, put the mean shape of the training set
    into the output BatchNorm of a ``MobileFaceNetHead``
    (``head.output_layer.bn``: bias = mean, weight = spread). Skipped when
    the run resumes."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = runner.train_dataloader.dataset
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        mean, std = mean_shape(infos, model.head.decoder.input_size)
        bn = model.head.output_layer.bn
        with torch.no_grad():
            bn.bias.copy_(torch.from_numpy(mean))
            bn.weight.copy_(torch.from_numpy(std))
        runner.logger.info(
            f'MeanShapeInitHook: landmark head starts at the mean shape of '
            f'{len(infos)} training frames')
