"""Attention implementations that can be swapped into mmpretrain modules.

mmpretrain's :class:`~mmpretrain.models.utils.MultiheadAttention` (the ViT
blocks and the TMA's temporal attention) calls
``self.scaled_dot_product_attention(q, k, v, dropout_p=...)``, which is
``torch.nn.functional.scaled_dot_product_attention`` (fused kernels). The
release uses timm 0.6's ``Attention``: an explicit ``softmax(q k^T * s) v``
that materialises the ``(B, H, N, N)`` attention matrix.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

ATTN_IMPLS = ('sdpa', 'eager')


def eager_attention(query: torch.Tensor,
                    key: torch.Tensor,
                    value: torch.Tensor,
                    attn_mask=None,
                    dropout_p: float = 0.,
                    scale=None,
                    is_causal: bool = False) -> torch.Tensor:
    """timm-0.6-style attention with ``F.scaled_dot_product_attention``'s
    signature.

    Args:
        query, key, value: ``(B, H, L, E)``, ``(B, H, S, E)``, ``(B, H, S,
            Ev)``.

    Returns:
        Tensor: ``(B, H, L, Ev)``.
    """
    if is_causal:
        raise NotImplementedError('eager_attention: is_causal is not used '
                                  'by S2D')
    scale = query.size(-1)**-0.5 if scale is None else scale
    attn = (query @ key.transpose(-2, -1)) * scale
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            attn = attn.masked_fill(~attn_mask, float('-inf'))
        else:
            attn = attn + attn_mask
    attn = attn.softmax(dim=-1)
    if dropout_p:
        attn = F.dropout(attn, p=dropout_p)
    return attn @ value


def set_attention_impl(model: nn.Module, impl: str) -> int:
    """Switch every mmpretrain ``MultiheadAttention`` in ``model`` between
    the fused kernel (``'sdpa'``) and :func:`eager_attention` (``'eager'``).

    Returns:
        int: Number of attention modules switched (an error if none).
    """
    if impl not in ATTN_IMPLS:
        raise ValueError(f'attention impl must be one of {ATTN_IMPLS}, '
                         f'got {impl!r}')
    fn = (F.scaled_dot_product_attention if impl == 'sdpa' else
          eager_attention)
    n = 0
    for module in model.modules():
        if hasattr(module, 'scaled_dot_product_attention') and hasattr(
                module, 'num_heads'):
            module.scaled_dot_product_attention = fn
            n += 1
    if n == 0:
        raise ValueError(f'{type(model).__name__} has no mmpretrain '
                         'MultiheadAttention to switch')
    return n
