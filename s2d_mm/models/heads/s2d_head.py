"""Classification head of the S2D video model."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmaction.models.heads import BaseHead
from mmaction.utils import SampleList
from mmengine.model.weight_init import trunc_normal_

from s2d_mm.registry import MMACTION_MODELS, build_in_scope, register_in

FeatType = Union[torch.Tensor, Sequence[torch.Tensor]]


@register_in(MMACTION_MODELS)
class S2DHead(BaseHead):
    """Mean of the per-frame cls features over time, dropout, linear.

    The released ``I3DHead`` in mmaction2's head interface. The loss is the
    configured classification loss (``loss_cls``, mmaction's loss registry)
    plus, when ``loss_sdl`` is configured, the Emotion-Anchors
    Self-Distillation loss on the logits and the pooled feature.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature width D.
        loss_cls (dict): Classification loss. Defaults to cross-entropy.
        loss_sdl (dict, optional): ``EmotionAnchorsSDL`` config; called as
            ``loss_sdl(cls_score (B, C), feat (B, D))`` with the pooled
            feature before dropout. ``None``: no SDL.
        dropout_ratio (float): Dropout before the classifier. Defaults to
            0.5 (the released DFEW/MAFW setting; FERV39k uses 0).
        init_std (float): Std of the trunc-normal init of ``fc_cls``.
            Defaults to 0.02 (what the released classifier starts from).
        **kwargs: :class:`mmaction.models.BaseHead` arguments
            (``label_smooth_eps``, ``topk``, ``average_clips``, ...).

    Shapes: ``forward(x)`` with ``x`` ``(B, D, T)`` (or the backbone's tuple
    holding it; any trailing spatial axes are averaged too) returns logits
    ``(B, C)``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 loss_sdl: Optional[dict] = None,
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.02,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls,
                         **kwargs)
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.loss_sdl = (
            build_in_scope(MMACTION_MODELS, loss_sdl) if loss_sdl is not None else None)

    def init_weights(self) -> None:
        """Trunc-normal classifier, zero bias."""
        trunc_normal_(self.fc_cls.weight, std=self.init_std)
        nn.init.zeros_(self.fc_cls.bias)

    @staticmethod
    def pool(x: FeatType) -> torch.Tensor:
        """Clip feature: ``(B, D, T[, ...])`` -> ``(B, D)``, mean over time
        (and space, if present). This is the feature SDL uses."""
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() < 3:
            raise ValueError(f'S2DHead expects per-frame features (B, D, T), '
                             f'got {tuple(x.shape)}')
        return x.flatten(2).mean(dim=2)

    def classify(self, feat: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` pooled feature -> ``(B, C)`` logits."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.fc_cls(feat)

    def forward(self, x: FeatType, **kwargs) -> torch.Tensor:
        """``(B, D, T)`` -> logits ``(B, C)``."""
        return self.classify(self.pool(x))

    def forward_with_feat(self,
                          x: FeatType) -> Tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, C)`` and pooled pre-dropout feature ``(B, D)``."""
        feat = self.pool(x)
        return self.classify(feat), feat

    def loss(self, feats: FeatType, data_samples: SampleList,
             **kwargs) -> Dict:
        """Classification loss (+ ``loss_sdl``) and top-k accuracy.

        SDL gets the pooled feature before dropout, or after it when the
        SDL module asks for the release's variant
        (``loss_sdl.feat_source == 'post_dropout'``).
        """
        feat = self.pool(feats)
        dropped = self.dropout(feat) if self.dropout is not None else feat
        # losses in float32 under AMP (bf16 scores have no numpy dtype for
        # mmaction's top-k accuracy, and the softmax is kept exact)
        cls_score = self.fc_cls(dropped).float()
        losses = self.loss_by_feat(cls_score, data_samples)
        if self.loss_sdl is not None:
            source = getattr(self.loss_sdl, 'feat_source', 'pre_dropout')
            losses['loss_sdl'] = self.loss_sdl(
                cls_score, dropped if source == 'post_dropout' else feat)
        return losses
