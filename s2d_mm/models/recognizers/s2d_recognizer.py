"""Recognizer of the S2D video model."""
import torch
from mmaction.models.recognizers import Recognizer3D
from mmaction.utils import SampleList
from mmengine.utils import is_list_of

from s2d_mm.registry import MMACTION_MODELS, register_in


@register_in(MMACTION_MODELS)
class S2DRecognizer(Recognizer3D):
    """:class:`mmaction.models.Recognizer3D` that refreshes SDL anchors.

    Inputs ``(B, V, 3, T, H, W)`` (V views folded into the batch, as in
    ``Recognizer3D``); the backbone (:class:`S2DViT`) returns ``((B*V, D,
    T),)`` and the head (:class:`S2DHead`) logits ``(B*V, C)``.

    When the head has an ``EmotionAnchorsSDL`` whose ``refresh`` flag is set
    (by the SDL schedule hook), every training step pushes the batch's
    pooled features (before dropout) and softmax predictions into the anchor
    bank under the samples' ground-truth classes (``sdl.update``). The
    features come from the training forward itself, so no extra pass is
    run; with mixup/cutmix the (soft) label's arg-max is used.
    """

    def loss(self, inputs: torch.Tensor, data_samples: SampleList,
             **kwargs) -> dict:
        """Losses of the batch, then the anchor refresh if requested."""
        feats, loss_kwargs = self.extract_feat(
            inputs, data_samples=data_samples)
        loss_aux = loss_kwargs.get('loss_aux', dict())
        losses = self.cls_head.loss(feats, data_samples, **loss_kwargs)
        losses.update(loss_aux)
        sdl = getattr(self.cls_head, 'loss_sdl', None)
        if sdl is not None and getattr(sdl, 'refresh', False):
            self.refresh_anchors(feats, data_samples)
        return losses

    @torch.no_grad()
    def refresh_anchors(self, feats, data_samples: SampleList) -> None:
        """Push ``(feat (B, D), cls_score (B, C), labels (B,))`` into the
        head's anchor bank; ``cls_score`` is computed without dropout."""
        head = self.cls_head
        feat = head.pool(feats).detach()
        cls_score = head.fc_cls(feat)
        labels = [s.gt_labels.item for s in data_samples]
        if is_list_of(labels, torch.Tensor):
            labels = torch.stack(labels).to(feat.device)
        else:
            labels = torch.as_tensor(labels, device=feat.device)
        if labels.dim() > 1 and labels.shape[-1] == head.num_classes:
            labels = labels.argmax(dim=-1)  # soft (mixed) labels
        head.loss_sdl.update(feat, cls_score, labels.reshape(-1).long())
