"""Parameter and FLOP counts of s2d_mm models (mmengine.analysis based).

FLOPs follow mmengine's (fvcore's) convention: one multiply-add counts as
one FLOP, so the numbers are comparable with the release's GMACs.
``scaled_dot_product_attention`` has no handle in mmengine;
:func:`sdpa_flop_jit` (``Q K^T`` and ``A V`` products) is added so attention
is not skipped. :func:`flop_analyzer` is the one place that sets the
analyzer up (``tools/analysis/params_flops.py`` and the benchmark use it
through :func:`count_flops` / :func:`count_macs`).
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

#: submodules excluded from the model size (the frozen landmark network is
#: a separate, off-the-shelf model; the release's counts exclude it too)
LANDMARK_PREFIXES = ('backbone.landmark.', )


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``aten::scaled_dot_product_attention`` for mmengine's
    :class:`FlopAnalyzer`: ``Q K^T`` and ``A V``, i.e.
    ``prod(batch dims) * L * S * (E + Ev)`` for q ``(..., L, E)``, k
    ``(..., S, E)`` and v ``(..., S, Ev)`` (softmax and scaling not counted,
    like mmengine's other handles do for element-wise work)."""
    from mmengine.analysis.jit_handles import get_shape
    q_shape = get_shape(inputs[0])
    k_shape = get_shape(inputs[1])
    v_shape = get_shape(inputs[2])
    batch = 1
    for s in q_shape[:-2]:
        batch *= s
    length, emb = q_shape[-2], q_shape[-1]
    src = k_shape[-2]
    return batch * length * src * emb + batch * length * src * v_shape[-1]


def flop_analyzer(module: nn.Module, inputs: Tuple[Any, ...],
                  count_sdpa: bool = True) -> FlopAnalyzer:
    """mmengine's analyzer over ``module(*inputs)``, fused attention
    counted, without its per-op and uncalled-module warnings."""
    analyzer = FlopAnalyzer(module, inputs)
    if count_sdpa:
        analyzer.set_op_handle('aten::scaled_dot_product_attention',
                               sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


def count_parameters(model: nn.Module,
                     exclude: Tuple[str, ...] = LANDMARK_PREFIXES
                     ) -> Dict[str, int]:
    """Total and trainable parameters, ``exclude``d prefixes counted apart.

    Returns:
        dict: ``total``, ``trainable`` (without the excluded modules) and
        ``excluded`` (their parameters).
    """
    total = trainable = excluded = 0
    for name, p in model.named_parameters():
        if name.startswith(exclude):
            excluded += p.numel()
            continue
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return dict(total=total, trainable=trainable, excluded=excluded)


def trainable_groups(model: nn.Module, depth: int = 3) -> Dict[str, int]:
    """Trainable parameters grouped by the first ``depth`` name parts,
    with block indices folded (``backbone.prompters.*.tma``)."""
    groups: Dict[str, int] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad or name.startswith(LANDMARK_PREFIXES):
            continue
        parts = ['*' if s.isdigit() else s for s in name.split('.')]
        key = '.'.join(parts[:depth + parts[:depth].count('*')])
        groups[key] = groups.get(key, 0) + p.numel()
    return groups


class ClipForward(nn.Module):
    """Backbone + head of a recognizer/classifier as one traceable call.

    ``forward(inputs, landmark_feat=None)``: ``inputs`` ``(B, 3, T, H, W)``
    (video) or ``(B, 3, H, W)`` (image) -> logits.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor,
                landmark_feat: Optional[torch.Tensor] = None):
        m = self.model
        feats = m.backbone(inputs, landmark_feat)
        head = getattr(m, 'cls_head', None) or getattr(m, 'head', None)
        return head(feats) if head is not None else feats


def model_inputs(model: nn.Module, batch: int = 1):
    """Dummy inputs matching the model's backbone: a clip/image, and
    landmark features when the model has no landmark branch."""
    bb = model.backbone
    h, w = bb.img_size
    frames = getattr(bb, 'num_frames', None)
    if frames is None:
        x = torch.randn(batch, 3, h, w)
        n = batch
    else:
        x = torch.randn(batch, 3, frames, h, w)
        n = batch * frames
    lf = None
    if getattr(bb, 'landmark', None) is None and hasattr(
            bb, 'landmark_channels'):
        lf = torch.randn(n, bb.landmark_channels, *bb.patch_resolution)
    return x, lf


@torch.no_grad()
def count_flops(model: nn.Module, batch: int = 1) -> Dict[str, Any]:
    """FLOPs of one clip (or image) through backbone and head.

    Returns:
        dict: ``total`` and ``by_module`` (FLOPs per direct child of the
        backbone, plus the head), and ``landmark`` (FLOPs of the landmark
        network, 0 when features are passed in).
    """
    was_training = model.training
    model.eval()
    x, lf = model_inputs(model, batch)
    wrapper = ClipForward(model)
    inputs = (x, ) if lf is None else (x, lf)
    analyzer = flop_analyzer(wrapper, inputs)
    by_module = analyzer.by_module()
    total = analyzer.total()
    model.train(was_training)
    prefix = 'model.backbone.'
    groups = {
        k[len('model.'):]: v
        for k, v in by_module.items()
        if k.startswith(prefix) and k.count('.') == 2
    }
    for head in ('model.cls_head', 'model.head'):
        if head in by_module:
            groups[head[len('model.'):]] = by_module[head]
    return dict(
        total=total,
        by_module=groups,
        landmark=by_module.get('model.backbone.landmark', 0))


class _CallForward(nn.Module):
    """Let the jit tracer see a callable (e.g. ``model.extract_feat``)."""

    def __init__(self, module: nn.Module, fn: Callable):
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, *args):
        out = self.fn(*args)
        return out if isinstance(out, (torch.Tensor, tuple)) else tuple(out)


@torch.no_grad()
def count_macs(module: nn.Module,
               inputs: Tuple[torch.Tensor, ...],
               fn: Optional[Callable] = None,
               count_sdpa: bool = True) -> Dict[str, Any]:
    """Multiply-accumulates of one call of ``fn`` (default
    ``module.forward``) on ``inputs``, for any part of a model.

    Returns:
        dict: ``macs`` (total), ``by_module`` (first-level children),
        ``by_operator`` and ``skipped_ops`` (operators mmengine did not
        count, with counts).
    """
    analyzer = flop_analyzer(_CallForward(module, fn or module.forward),
                             inputs, count_sdpa=count_sdpa)
    by_module = {
        k[len('module.'):]: v
        for k, v in analyzer.by_module().items()
        if k.startswith('module.') and k.count('.') == 1
    }
    return dict(
        macs=analyzer.total(),
        by_module=by_module,
        by_operator=dict(analyzer.by_operator()),
        skipped_ops=dict(analyzer.unsupported_ops()))
