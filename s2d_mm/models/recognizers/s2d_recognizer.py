"""Recognizer of the S2D video model."""
from contextlib import nullcontext
from typing import Optional

import torch
import torch.nn as nn
from mmaction.models.recognizers import Recognizer3D
from mmaction.utils import SampleList

from s2d_mm.registry import MMACTION_MODELS, register_in

from ..utils.modes import eval_mode
from .view_dedup import expand_views, unique_views


@register_in(MMACTION_MODELS)
class S2DRecognizer(Recognizer3D):
    """:class:`mmaction.models.Recognizer3D` that refreshes SDL anchors.

    Inputs ``(B, V, 3, T, H, W)`` (V views folded into the batch, as in
    ``Recognizer3D``); the backbone (:class:`S2DViT`) returns ``((B*V, D,
    T),)`` and the head (:class:`S2DHead`) logits ``(B*V, C)``.

    Anchor refresh: when the head has an ``EmotionAnchorsSDL`` whose
    ``refresh`` flag is set (by :class:`SDLScheduleHook`), every training
    step pushes clean features and predictions of the batch into the bank
    under the samples' ground-truth classes (``sdl.update``), after the
    losses are computed:

    - batch not mixed: the training forward's own pooled features are
      reused (the frozen ViT has no dropout or drop-path, so they equal the
      eval-mode features) and the logits are recomputed from them by the
      classifier without dropout; no extra pass (a backbone configured with
      active dropout / drop-path gets the clean eval-mode pass instead);
    - batch mixed (mixup/cutmix): :class:`S2DDataPreprocessor` hands over
      ``unmixed_inputs`` / ``unmixed_labels`` and one extra no-grad forward
      runs on them, in eval mode by default.

    ``sdl.feat_source`` / ``sdl.refresh_eval`` select the released variant
    (post-dropout features, train-mode predictions).

    Test views: views that are bit-identical (e.g. the 2 clips x 2 crops of
    a 16-frame 224 px DFEW clip) go through the backbone once and their
    features are copied back before the head, so scores and their average
    are unchanged (``test_cfg=dict(dedup_views=False)`` turns this off).
    """

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'neck',
                     data_samples: Optional[SampleList] = None,
                     test_mode: bool = False) -> tuple:
        """``Recognizer3D.extract_feat``; in test mode each distinct view of
        ``inputs`` ``(B, V, 3, T, H, W)`` is computed once."""
        dedup = test_mode and (self.test_cfg or {}).get('dedup_views', True)
        if dedup and inputs.shape[0] * inputs.shape[1] > 1:
            unique, inverse = unique_views(
                inputs.reshape((-1, ) + inputs.shape[2:]))
            if inverse is not None:
                # (1, U, ...): one "sample" of U views, which also keeps
                # ``max_testing_views`` chunking valid.
                feats, kwargs = super().extract_feat(
                    unique[None], stage, data_samples, test_mode)
                return expand_views(feats, inverse), kwargs
        return super().extract_feat(inputs, stage, data_samples, test_mode)

    def loss(self,
             inputs: torch.Tensor,
             data_samples: SampleList,
             unmixed_inputs: Optional[torch.Tensor] = None,
             unmixed_labels: Optional[torch.Tensor] = None,
             **kwargs) -> dict:
        """Losses of the batch, then the anchor refresh if requested.

        Args:
            inputs (Tensor): ``(B, V, 3, T, H, W)``, possibly mixed.
            data_samples (list[ActionDataSample]): with ``gt_labels``.
            unmixed_inputs (Tensor, optional): the batch before mixup/cutmix
                (from :class:`S2DDataPreprocessor`).
            unmixed_labels (Tensor, optional): hard labels ``(B,)`` before
                mixup/cutmix.
        """
        feats, loss_kwargs = self.extract_feat(
            inputs, data_samples=data_samples)
        loss_aux = loss_kwargs.get('loss_aux', dict())
        losses = self.cls_head.loss(feats, data_samples, **loss_kwargs)
        losses.update(loss_aux)
        sdl = getattr(self.cls_head, 'loss_sdl', None)
        if sdl is not None and getattr(sdl, 'refresh', False):
            if unmixed_inputs is None and self._needs_clean_pass(sdl):
                unmixed_inputs = inputs
            self.refresh_anchors(feats, data_samples, unmixed_inputs,
                                 unmixed_labels)
        return losses

    def _needs_clean_pass(self, sdl) -> bool:
        """Whether an un-mixed batch gets a second forward for the refresh
        instead of reusing the training features: only when train-mode
        features differ from the eval-mode ones the refresh asks for."""
        return sdl.refresh_eval and self._backbone_is_stochastic()

    def _backbone_is_stochastic(self) -> bool:
        """Whether the backbone, as it is in train mode now, has active
        dropout or drop-path (then its training features are not the
        eval-mode features the clean SDL refresh needs)."""
        for m in self.backbone.modules():
            if not m.training:
                continue
            p = m.p if isinstance(m, nn.Dropout) else getattr(
                m, 'drop_prob', 0.)
            if p:
                return True
        return False

    @torch.no_grad()
    def refresh_anchors(self,
                        feats,
                        data_samples: SampleList,
                        unmixed_inputs: Optional[torch.Tensor] = None,
                        unmixed_labels: Optional[torch.Tensor] = None
                        ) -> None:
        """Push ``(feat (B, D), cls_score (B, C), labels (B,))`` of the
        clean batch into the head's anchor bank."""
        head = self.cls_head
        sdl = head.loss_sdl
        if unmixed_inputs is not None:
            if unmixed_labels is None:
                unmixed_labels = self._hard_labels(data_samples, feats)
            labels = unmixed_labels
            # eval mode is borrowed for this pass only; every submodule gets
            # its own mode back (no .train() of the whole model mid-step)
            with eval_mode(self) if sdl.refresh_eval else nullcontext():
                feats, _ = self.extract_feat(
                    unmixed_inputs, data_samples=data_samples)
        else:
            labels = self._hard_labels(data_samples, feats)
        feat = head.pool(feats).detach()
        # Release variant: dropout (train mode) applies to the pushed
        # prediction and, for 'post_dropout', to the pushed feature.
        dropped = feat
        if not sdl.refresh_eval and head.dropout is not None:
            dropped = head.dropout(feat)
        cls_score = head.fc_cls(dropped)
        if sdl.feat_source == 'post_dropout':
            feat = dropped
        sdl.update(feat, cls_score, labels.reshape(-1).long())

    @staticmethod
    def _hard_labels(data_samples: SampleList, feats) -> torch.Tensor:
        """Hard ground-truth labels ``(B,)`` of the data samples."""
        labels = [s.gt_labels.item for s in data_samples]
        labels = torch.stack(labels).to(inputs_device(feats))
        if labels.dim() > 1 and labels.shape[-1] > 1:
            raise ValueError(
                'S2DRecognizer: the SDL anchor refresh got soft (mixed) '
                'labels but no un-mixed batch; use '
                "data_preprocessor=dict(type='S2DDataPreprocessor', "
                'blending=...) so that the clips before mixup/cutmix are '
                'kept')
        return labels.reshape(-1)


def inputs_device(feats) -> torch.device:
    """Device of a backbone output (tensor or tuple of tensors)."""
    if isinstance(feats, (tuple, list)):
        feats = feats[-1]
    return feats.device
