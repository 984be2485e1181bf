"""The release's per-sample Python loops for the SDL anchor bank.

The released ``SDL.py`` looks anchors up and pushes samples one sample (and
one class) at a time. :func:`loop_soft_target` and :func:`loop_update`
compute exactly what :meth:`EmotionAnchorsSDL.soft_target` and
:meth:`EmotionAnchorsSDL.update` compute with batched tensor ops, in that
looped style, so the benchmark can time the difference and the tests can
check the batched versions against an obviously-correct one.
"""
from types import MethodType

import torch
import torch.nn.functional as F


@torch.no_grad()
def loop_soft_target(sdl, feat: torch.Tensor):
    """Per-sample, per-class loop version of ``sdl.soft_target(feat)``.

    Args:
        sdl (EmotionAnchorsSDL): The loss holding the bank.
        feat (Tensor): ``(B, D)``.

    Returns:
        tuple[Tensor, Tensor]: targets ``(B, C)`` and validity ``(B,)``.
    """
    sdl._check_feat(feat, 'feat')
    C = sdl.num_classes
    bank = sdl.anchor_feats.float()
    bank_probs = sdl.anchor_probs.float()
    targets, valid = [], []
    for i in range(feat.size(0)):
        f = F.normalize(feat[i].float(), dim=0)
        sims, probs = [], []
        for c in range(C):
            n = int(sdl.anchor_count[c])
            if n == 0:
                continue
            s = F.normalize(bank[c, :n], dim=1) @ f
            top_s, top_i = s.topk(min(sdl.topk, n))
            sims.append(top_s)
            probs.append(bank_probs[c, top_i])
        if not sims:
            targets.append(feat.new_zeros(C, dtype=torch.float32))
            valid.append(False)
            continue
        s, p = torch.cat(sims), torch.cat(probs)
        if sdl.release_compat:
            w = s
            denom = w.sum()
        else:
            w = s.clamp(min=0.)
            if w.sum() <= sdl.eps:
                w = torch.ones_like(s)
            denom = w.sum().clamp(min=sdl.eps)
        targets.append((w[:, None] * p).sum(0) / denom)
        valid.append(True)
    return torch.stack(targets), torch.tensor(valid, device=feat.device)


@torch.no_grad()
def loop_update(sdl, feat: torch.Tensor, cls_score: torch.Tensor,
                labels: torch.Tensor) -> None:
    """Per-sample FIFO push, the loop version of ``sdl.update``."""
    sdl._check_feat(feat, 'feat')
    sdl._check_scores(cls_score, feat.size(0))
    labels = labels.reshape(-1).long().to(feat.device)
    if labels.numel() != feat.size(0):
        raise ValueError('loop_update: one hard label per sample expected')
    feat = sdl._gather(feat.detach().float())
    probs = sdl._gather(F.softmax(cls_score.detach().float(), dim=1))
    labels = sdl._gather(labels)
    Q = sdl.queue_size
    for i in range(labels.numel()):
        c = int(labels[i])
        slot = int(sdl.anchor_ptr[c])
        sdl.anchor_feats[c, slot] = feat[i]
        sdl.anchor_probs[c, slot] = probs[i]
        sdl.anchor_ptr[c] = (slot + 1) % Q
        sdl.anchor_count[c] = min(int(sdl.anchor_count[c]) + 1, Q)


def use_python_loop_anchor_search(sdl) -> None:
    """Make ``sdl`` (an :class:`EmotionAnchorsSDL`) use the loops above."""
    sdl.soft_target = MethodType(loop_soft_target, sdl)
    sdl.update = MethodType(loop_update, sdl)
