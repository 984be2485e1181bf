"""Emotion-Anchors based Self-Distillation loss (SDL) of S2D.

The paper ("From Static to Dynamic", arXiv 2312.05447) keeps, for every
emotion class, a FIFO queue of recent training samples ("emotion anchors"):
each anchor is a pooled clip feature and the model's predicted class
distribution for that clip, filed under the clip's ground-truth class. A
training sample is then distilled towards the similarity-weighted average of
the distributions of its most similar anchors, which softens ambiguous labels.

This module owns the anchor bank and computes the loss; the schedule (loss
weight per epoch, when to refresh) is set from outside by
:class:`s2d_mm.engine.SDLScheduleHook` through :attr:`weight` and
:attr:`refresh`, and the refresh itself is driven by the recognizer, which
calls :meth:`update` with clean features (see ``docs/architecture.md``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.model import BaseModule

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, register_in


@register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
class EmotionAnchorsSDL(BaseModule):
    """Emotion-Anchors Self-Distillation loss with its per-class anchor bank.

    Soft target of a sample with feature ``f`` (paper's emotion anchors):

    1. cosine similarity ``s`` between ``f`` and every filled anchor of
       every class, ``(B, C, Q)``;
    2. per class, keep the ``topk`` most similar anchors, ``(B, C, K)``;
    3. target = ``sum(w * p_anchor) / sum(w)`` over the ``C * K`` kept
       anchors, ``(B, C)``, where ``p_anchor`` is the stored softmax.

    Loss: ``BCE-with-logits(cls_score, target)`` (the released code), or
    ``KL(target || softmax(cls_score))``; multiplied by :attr:`weight`.

    Weights ``w`` (the clean default, ``release_compat=False``): negative
    similarities are clamped to 0, so the target is a convex combination of
    probability vectors and stays in ``[0, 1]``. When every kept anchor of a
    sample has similarity <= 0 (nothing resembles it), the sample falls back
    to the plain mean of its kept anchors' distributions, which is the limit
    of equal weights and still a probability vector. Samples for which no
    anchor is filled yet are left out of the loss; with an empty bank the
    loss is exactly 0 (but keeps the graph, so DDP sees every parameter).

    ``release_compat=True`` reproduces the released ``SDL.py``: the bank
    starts as ``torch.rand`` values that count as filled anchors, the raw
    similarities are the weights (no clamp, no guard on the denominator, so
    targets can leave ``[0, 1]``), and the recognizer feeds post-dropout,
    train-mode features. The sample's label is never used by the target in
    either mode (as in the method and the release): labels only decide in
    which class queue :meth:`update` files a sample.

    The bank is made of buffers, hence saved in checkpoints and restored on
    resume. Under distributed training :meth:`update` gathers the batch from
    all ranks before pushing, so every rank holds the same bank.

    Args:
        num_classes (int): Number of emotion classes ``C``.
        feat_dim (int): Dimension ``D`` of the pooled feature.
        queue_size (int): Anchors per class ``Q`` (16 in the released
            scripts). Defaults to 16.
        topk (int): Anchors kept per class ``K``. Defaults to 2.
        loss_type (str): ``'bce'`` (released code) or ``'kl'``.
            Defaults to ``'bce'``.
        release_compat (bool): Reproduce the released behaviour described
            above. Defaults to False.
        feat_source (str, optional): Which pooled feature the head gives
            the loss and the recognizer pushes into the bank:
            ``'pre_dropout'`` (clean) or ``'post_dropout'`` (release).
            Defaults to ``'post_dropout'`` when ``release_compat`` else
            ``'pre_dropout'``.
        refresh_eval (bool, optional): Whether the anchor refresh computes
            features and predictions in eval mode (clean) or in train mode
            (release). Defaults to ``not release_compat``.
        weight (float): Initial loss weight; :class:`SDLScheduleHook`
            overwrites it every epoch. Defaults to 1.0.
        eps (float): Guard of the weight normalisation. Defaults to 1e-6.
        init_cfg (dict, optional): mmengine init config.
    """

    LOSS_TYPES = ('bce', 'kl')
    FEAT_SOURCES = ('pre_dropout', 'post_dropout')

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 queue_size: int = 16,
                 topk: int = 2,
                 loss_type: str = 'bce',
                 release_compat: bool = False,
                 feat_source: Optional[str] = None,
                 refresh_eval: Optional[bool] = None,
                 weight: float = 1.0,
                 eps: float = 1e-6,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1 or feat_dim < 1 or queue_size < 1 or topk < 1:
            raise ValueError(
                'EmotionAnchorsSDL: num_classes, feat_dim, queue_size and '
                f'topk must be >= 1, got num_classes={num_classes}, '
                f'feat_dim={feat_dim}, queue_size={queue_size}, topk={topk}')
        if loss_type not in self.LOSS_TYPES:
            raise ValueError(f'EmotionAnchorsSDL: loss_type must be one of '
                             f'{self.LOSS_TYPES}, got {loss_type!r}')
        if feat_source is None:
            feat_source = 'post_dropout' if release_compat else 'pre_dropout'
        if feat_source not in self.FEAT_SOURCES:
            raise ValueError(f'EmotionAnchorsSDL: feat_source must be one of '
                             f'{self.FEAT_SOURCES}, got {feat_source!r}')
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.queue_size = queue_size
        self.topk = min(topk, queue_size)
        self.loss_type = loss_type
        self.release_compat = release_compat
        self.feat_source = feat_source
        self.refresh_eval = (not release_compat
                             if refresh_eval is None else bool(refresh_eval))
        self.weight = float(weight)
        self.refresh = False
        self.eps = eps

        C, Q, D = num_classes, queue_size, feat_dim
        if release_compat:
            # The release's queues are nn.Parameters drawn from U[0, 1) that
            # take part in the similarity search from the first iteration.
            feats = torch.rand(C, Q, D)
            probs = torch.rand(C, Q, C)
            count = torch.full((C, ), Q, dtype=torch.long)
        else:
            feats = torch.zeros(C, Q, D)
            probs = torch.zeros(C, Q, C)
            count = torch.zeros(C, dtype=torch.long)
        self.register_buffer('anchor_feats', feats)
        self.register_buffer('anchor_probs', probs)
        # Filled slots of each class queue (slots 0..count-1 are valid,
        # because a queue fills from slot 0 before it wraps around).
        self.register_buffer('anchor_count', count)
        # Next slot to overwrite in each ring buffer (oldest anchor).
        self.register_buffer('anchor_ptr', torch.zeros(C, dtype=torch.long))

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, feat_dim={self.feat_dim}, '
                f'queue_size={self.queue_size}, topk={self.topk}, '
                f'loss_type={self.loss_type!r}, '
                f'release_compat={self.release_compat}, '
                f'feat_source={self.feat_source!r}, '
                f'refresh_eval={self.refresh_eval}')

    # ------------------------------------------------------------------ #
    # soft target and loss
    # ------------------------------------------------------------------ #
    def _check_feat(self, feat: torch.Tensor, name: str) -> None:
        if feat.dim() != 2 or feat.size(1) != self.feat_dim:
            raise ValueError(
                f'EmotionAnchorsSDL: {name} must have shape (B, '
                f'{self.feat_dim}), got {tuple(feat.shape)}')

    def _check_scores(self, cls_score: torch.Tensor, batch: int) -> None:
        if cls_score.shape != (batch, self.num_classes):
            raise ValueError(
                'EmotionAnchorsSDL: cls_score must have shape '
                f'({batch}, {self.num_classes}), got {tuple(cls_score.shape)}')

    @torch.no_grad()
    def soft_target(self, feat: torch.Tensor):
        """Anchor-weighted soft targets.

        Args:
            feat (Tensor): Pooled features ``(B, D)``.

        Returns:
            tuple[Tensor, Tensor]: Targets ``(B, C)`` (float32) and a mask
            ``(B,)`` of the samples that have at least one filled anchor.
        """
        self._check_feat(feat, 'feat')
        C, Q = self.num_classes, self.queue_size
        f = F.normalize(feat.float(), dim=1)
        bank = F.normalize(self.anchor_feats.float(), dim=2)
        sim = torch.einsum('bd,cqd->bcq', f, bank)  # (B, C, Q)
        slots = torch.arange(Q, device=sim.device)
        filled = slots[None, :] < self.anchor_count[:, None]  # (C, Q)
        sim = sim.masked_fill(~filled[None], float('-inf'))
        top_sim, top_idx = sim.topk(self.topk, dim=2)  # (B, C, K)
        kept = torch.isfinite(top_sim)
        # Stored distributions of the kept anchors: (B, C, K, C).
        cls_idx = torch.arange(C, device=sim.device)[None, :, None]
        probs = self.anchor_probs.float()[cls_idx, top_idx]
        top_sim = top_sim.masked_fill(~kept, 0.)
        has_anchor = kept.flatten(1).any(dim=1)  # (B,)

        if self.release_compat:
            w = top_sim
            denom = w.sum(dim=(1, 2))
        else:
            w = top_sim.clamp(min=0.)
            denom = w.sum(dim=(1, 2))
            # Fallback: nothing similar -> plain mean of the kept anchors.
            fallback = denom <= self.eps
            w = torch.where(fallback[:, None, None], kept.float(), w)
            denom = w.sum(dim=(1, 2)).clamp(min=self.eps)
        target = torch.einsum('bck,bckj->bj', w, probs) / denom[:, None]
        return target, has_anchor

    def forward(self, cls_score: torch.Tensor,
                feat: torch.Tensor) -> torch.Tensor:
        """Weighted SDL.

        Args:
            cls_score (Tensor): Logits ``(B, C)`` of the training forward.
            feat (Tensor): Pooled feature ``(B, D)`` chosen by
                :attr:`feat_source`; it is only used to look anchors up
                (no gradient flows through it).

        Returns:
            Tensor: scalar loss, already multiplied by :attr:`weight`.
        """
        self._check_feat(feat, 'feat')
        self._check_scores(cls_score, feat.size(0))
        zero = cls_score.sum() * 0.
        if self.weight == 0:
            return zero
        target, valid = self.soft_target(feat.detach())
        if not bool(valid.any()):
            return zero
        logits = cls_score.float()[valid]
        target = target[valid]
        if self.loss_type == 'bce':
            loss = F.binary_cross_entropy_with_logits(logits, target)
        else:
            loss = F.kl_div(
                F.log_softmax(logits, dim=1), target,
                reduction='batchmean')
        return loss * self.weight

    # ------------------------------------------------------------------ #
    # bank update
    # ------------------------------------------------------------------ #
    @staticmethod
    def _gather(tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate ``tensor`` (first dim may differ) from all ranks in
        rank order."""
        if dist.get_world_size() == 1:
            return tensor
        size = torch.tensor([tensor.size(0)], device=tensor.device)
        sizes = [int(s) for s in dist.all_gather(size)]
        pad = max(sizes) - tensor.size(0)
        if pad:
            tensor = torch.cat(
                [tensor, tensor.new_zeros((pad, ) + tensor.shape[1:])])
        parts = dist.all_gather(tensor)
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @torch.no_grad()
    def update(self, feat: torch.Tensor, cls_score: torch.Tensor,
               labels: torch.Tensor) -> None:
        """Push a batch into the class queues (FIFO, oldest overwritten).

        Every rank must call this together: the batch is first gathered
        from all ranks (rank order), so the banks stay identical.

        Args:
            feat (Tensor): Pooled features ``(B, D)``.
            cls_score (Tensor): Logits ``(B, C)``; their softmax is stored.
            labels (Tensor): Hard ground-truth labels ``(B,)`` or
                ``(B, 1)`` deciding the queue of each sample.
        """
        self._check_feat(feat, 'feat')
        self._check_scores(cls_score, feat.size(0))
        labels = labels.reshape(-1).long().to(feat.device)
        if labels.numel() != feat.size(0):
            raise ValueError(
                'EmotionAnchorsSDL.update: labels must be hard labels, one '
                f'per sample (B={feat.size(0)}), got shape '
                f'{tuple(labels.shape)}; pass the labels before mixup/cutmix')
        if labels.numel() and (labels.min() < 0
                               or labels.max() >= self.num_classes):
            raise ValueError(
                'EmotionAnchorsSDL.update: labels must lie in [0, '
                f'{self.num_classes}), got {labels.tolist()}')
        bank_device = self.anchor_feats.device
        feat = self._gather(feat.detach().float()).to(bank_device)
        probs = self._gather(F.softmax(cls_score.detach().float(),
                                       dim=1)).to(bank_device)
        labels = self._gather(labels).to(bank_device)
        if labels.numel() == 0:
            return

        C, Q = self.num_classes, self.queue_size
        one_hot = F.one_hot(labels, C)  # (N, C)
        # Order of each sample among the samples of its class in this push.
        order = (one_hot.cumsum(0) - 1).gather(1, labels[:, None])[:, 0]
        n_per_class = one_hot.sum(0)  # (C,)
        # Only the last Q samples of a class survive the push; dropping the
        # others keeps the scatter free of duplicate slots.
        keep = order >= (n_per_class[labels] - Q)
        cls, order = labels[keep], order[keep]
        slot = (self.anchor_ptr[cls] + order) % Q
        self.anchor_feats[cls, slot] = feat[keep].to(self.anchor_feats.dtype)
        self.anchor_probs[cls, slot] = probs[keep].to(self.anchor_probs.dtype)
        self.anchor_ptr.copy_((self.anchor_ptr + n_per_class) % Q)
        self.anchor_count.copy_((self.anchor_count + n_per_class).clamp(max=Q))
