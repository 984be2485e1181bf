"""Data preprocessor that keeps the un-mixed batch for the SDL refresh."""
from typing import Optional

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor

from s2d_mm.registry import MMACTION_MODELS, register_in


@register_in(MMACTION_MODELS)
class S2DDataPreprocessor(ActionDataPreprocessor):
    """:class:`ActionDataPreprocessor` that also returns the batch as it was
    before mixup/cutmix.

    The SDL anchors must be computed on clean clips filed under their hard
    labels, but ``blending`` replaces both the clips and the labels. When a
    training batch is blended, this preprocessor adds two entries to its
    output, which the model receives as keyword arguments of ``loss``
    (:class:`S2DRecognizer` consumes them):

    - ``unmixed_inputs``: the normalised batch before blending, same shape as
      ``inputs`` (``(B, V, 3, T, H, W)`` for ``NCTHW``);
    - ``unmixed_labels``: the hard labels before blending, ``(B,)`` long.

    Nothing is added when the batch is not blended (eval, or no
    ``blending``), so the output is then identical to the parent's.

    Args:
        keep_unmixed (bool): Set False to drop the extra entries (e.g. for
            a recognizer that does not accept them). Defaults to True.
        **kwargs: :class:`ActionDataPreprocessor` arguments.
    """

    def __init__(self, keep_unmixed: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.keep_unmixed = keep_unmixed

    def forward_onesample(self, data: dict, training: bool = False) -> dict:
        blending: Optional[object] = self.blending
        if not (training and blending is not None and self.keep_unmixed):
            return super().forward_onesample(data, training=training)
        # Normalise without blending, keep that batch, then blend it.
        self.blending = None
        try:
            data = super().forward_onesample(data, training=training)
        finally:
            self.blending = blending
        inputs, data_samples = data['inputs'], data['data_samples']
        labels = torch.stack([
            s.gt_labels.item.reshape(-1)[0] for s in data_samples
        ]).long().to(inputs.device)
        # CutmixBlending pastes boxes in place: blend a copy.
        data['inputs'], data['data_samples'] = blending(
            inputs.clone(), data_samples)
        data['unmixed_inputs'] = inputs
        data['unmixed_labels'] = labels
        return data
