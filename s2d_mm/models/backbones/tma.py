"""Temporal-Modeling Adapter (TMA) of S2D.

The TMA is the only part of the video model that mixes information across
frames. It reads the (normalised) patch tokens of every frame, lets each
patch position attend over the T frames of its clip in a narrow bottleneck,
and returns a residual that the caller adds to the patch tokens. It has no
skip connection of its own.

Two options, off by default, make the order of frames learnable where the
released adapter cannot learn it (``docs/tma_diagnosis.md``): a learnable
bias over frame offsets added to the attention logits, initialised so that
each head starts looking at its own offset (``frame_offset_bias``), and
fan-in scaled (Xavier) initial weights instead of trunc-normal(0.02)
(``linear_init='xavier'``).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import MultiheadAttention

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, register_in

from ..utils.weight_init import OwnInitMixin

TMA_INITS = ('release', 'zero')
LINEAR_INITS = ('trunc_normal', 'xavier')


def head_offsets(num_heads: int) -> list:
    """Frame offset each head favours under ``frame_offset_bias``:
    0, +1, -1, +2, -2, ... (head 0 the frame itself, head 1 the next one).
    """
    return [(h + 1) // 2 * (1 if h % 2 else -1) for h in range(num_heads)]


class BottleneckAdapter(BaseModule):
    """Down-project, activate, optionally attend, up-project.

    One branch of the TMA (``T_Adapter`` / ``S_Adapter`` in the release).

    Args:
        embed_dims (int): Token width D.
        hidden_dims (int): Bottleneck width D_h.
        num_heads (int | None): Heads of the self-attention run on the
            bottleneck tokens; ``None`` for no attention (spatial branch).
        act_cfg (dict): Activation between the projections.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 num_heads: Optional[int] = None,
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fc_down = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        if num_heads is None:
            self.attn = None
        else:
            if hidden_dims % num_heads:
                raise ValueError(
                    f'TMA bottleneck width {hidden_dims} is not divisible by '
                    f'its {num_heads} attention heads')
            # mmpretrain's attention runs F.scaled_dot_product_attention.
            self.attn = MultiheadAttention(
                hidden_dims, num_heads, qkv_bias=False, proj_bias=True)
        self.fc_up = nn.Linear(hidden_dims, embed_dims)

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., D_h)``: projection and activation."""
        return self.act(self.fc_down(x))


@register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
class TemporalModelingAdapter(OwnInitMixin, BaseModule):
    """Temporal-Modeling Adapter (TMA, ``TMAdapter`` in the release).

    ``TMA(u) = S(LN(T(u)))`` where, with ``D_h = ratio * D``,

    - ``T``: Linear D->D_h, GELU, multi-head self-attention over the T frames
      of each patch position (``num_heads`` heads, no qkv bias), Linear
      D_h->D;
    - ``LN``: LayerNorm (eps 1e-5 as in the release);
    - ``S``: Linear D->D_h, GELU, Linear D_h->D.

    Args:
        embed_dims (int): Token width D.
        ratio (float): Bottleneck ratio r; ``D_h = int(D * r)``.
            Defaults to 0.25.
        num_heads (int): Heads of the temporal attention. Defaults to 8.
        norm_cfg (dict): Norm between the two branches.
        act_cfg (dict): Activation of both branches.
        tma_init (str): ``'release'`` (default): every Linear trunc-normal
            (std 0.02), zero bias, which is what the released code ends up
            with. ``'zero'``: as ``'release'``, then the last up-projection
            (of the spatial branch) is zeroed so the adapter outputs exactly 0
            and the video model starts as the image model; gradients still
            reach that projection because its input is non-zero.
        linear_init (str): ``'trunc_normal'`` (default, the release):
            Linear weights trunc-normal with std 0.02. ``'xavier'``:
            Xavier-uniform (fan-in/fan-out scaled) weights, zero biases; with
            std-0.02 weights every GELU and the attention softmax work in
            their linear range, where the adapter's response to the order of
            frames is a vanishing higher-order term. ``tma_init='zero'``
            still zeroes the last projection afterwards.
        frame_offset_bias (float, optional): ``None`` (default, the
            release): plain scaled-dot-product attention over the T frames.
            A float ``b``: a learnable bias per head and frame offset
            ``s - t`` (``-(T-1)..T-1``) is added to the attention logits of
            query frame ``t`` and key frame ``s``, initialised to ``b`` at
            the head's own offset (:func:`head_offsets`: 0, +1, -1, +2, ...)
            and 0 elsewhere, so that from the first step every frame sees
            itself and its neighbours through separate heads. Needs
            ``num_frames``.
        num_frames (int, optional): T, the size of the offset table; only
            with ``frame_offset_bias``.
    """

    def __init__(self,
                 embed_dims: int,
                 ratio: float = 0.25,
                 num_heads: int = 8,
                 norm_cfg: dict = dict(type='LN', eps=1e-5),
                 act_cfg: dict = dict(type='GELU'),
                 tma_init: str = 'release',
                 linear_init: str = 'trunc_normal',
                 frame_offset_bias: Optional[float] = None,
                 num_frames: Optional[int] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if tma_init not in TMA_INITS:
            raise ValueError(f'tma_init must be one of {TMA_INITS}, '
                             f'got {tma_init!r}')
        if linear_init not in LINEAR_INITS:
            raise ValueError(f'linear_init must be one of {LINEAR_INITS}, '
                             f'got {linear_init!r}')
        if frame_offset_bias is not None and not (
                isinstance(num_frames, int) and num_frames >= 1):
            raise ValueError(
                'frame_offset_bias needs num_frames (the number of frames '
                f'per clip, an int >= 1), got num_frames={num_frames!r}')
        self.embed_dims = embed_dims
        self.hidden_dims = int(embed_dims * ratio)
        self.tma_init = tma_init
        self.linear_init = linear_init
        self.temporal = BottleneckAdapter(
            embed_dims, self.hidden_dims, num_heads=num_heads, act_cfg=act_cfg)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.spatial = BottleneckAdapter(
            embed_dims, self.hidden_dims, num_heads=None, act_cfg=act_cfg)
        self.frame_offset_bias_init = frame_offset_bias
        self.num_frames = num_frames
        if frame_offset_bias is None:
            self.frame_offset_bias = None
        else:
            # (heads, 2T-1): entry j is the offset s - t = j - (T-1)
            self.frame_offset_bias = nn.Parameter(
                torch.zeros(num_heads, 2 * num_frames - 1))
        self.init_own_weights()

    def init_own_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                if self.linear_init == 'xavier':
                    nn.init.xavier_uniform_(m.weight)
                else:
                    trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.frame_offset_bias is not None:
            with torch.no_grad():
                self.frame_offset_bias.zero_()
                last = self.num_frames - 1
                for h, off in enumerate(
                        head_offsets(self.frame_offset_bias.shape[0])):
                    if abs(off) <= last:
                        self.frame_offset_bias[h, last + off] = \
                            self.frame_offset_bias_init
        if self.tma_init == 'zero':
            nn.init.zeros_(self.spatial.fc_up.weight)
            nn.init.zeros_(self.spatial.fc_up.bias)

    def forward(self, u: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Temporal residual for the patch tokens.

        Args:
            u (Tensor): Normalised patch tokens, frames folded into the batch
                clip-major, ``(B*T, N, D)``.
            num_frames (int): T.

        Returns:
            Tensor: ``(B*T, N, D)``, to be added to the patch tokens.
        """
        bt, n, d = u.shape
        if bt % num_frames:
            raise ValueError(f'TMA got {bt} frames in the batch, not a '
                             f'multiple of num_frames={num_frames}')
        b = bt // num_frames
        # Narrow first, so that only the D_h-wide tensor is transposed to
        # put each patch position's T frames together: (B*N, T, D_h).
        z = self.temporal.down(u)
        z = z.view(b, num_frames, n, -1).transpose(1, 2).reshape(
            b * n, num_frames, -1)
        if self.frame_offset_bias is None:
            z = self.temporal.attn(z)
        else:
            z = self._attend_with_offset_bias(z, num_frames)
        z = z.view(b, n, num_frames, -1).transpose(1, 2)
        z = self.temporal.fc_up(z).reshape(bt, n, d)
        return self.spatial.fc_up(self.spatial.down(self.norm(z)))

    def _attend_with_offset_bias(self, z: torch.Tensor,
                                 num_frames: int) -> torch.Tensor:
        """The temporal attention (same ``qkv``/``proj`` weights) with the
        learnable frame-offset bias added to its logits.

        Args:
            z (Tensor): Bottleneck tokens ``(B*N, T, D_h)``.

        Returns:
            Tensor: ``(B*N, T, D_h)``.
        """
        if num_frames != self.num_frames:
            raise ValueError(
                f'TMA was built with frame_offset_bias for num_frames='
                f'{self.num_frames} but got clips of {num_frames} frames')
        attn = self.temporal.attn
        bn, t, c = z.shape
        q, k, v = attn.qkv(z).reshape(bn, t, 3, attn.num_heads,
                                      attn.head_dims).permute(2, 0, 3, 1, 4)
        # logit (t, s) gets bias[s - t]
        pos = torch.arange(t, device=z.device)
        bias = self.frame_offset_bias[:, pos[None, :] - pos[:, None] + t - 1]
        drop = attn.attn_drop if self.training else 0.
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias.to(q.dtype)[None], dropout_p=drop)
        out = out.transpose(1, 2).reshape(bn, t, c)
        return attn.out_drop(attn.gamma1(attn.proj_drop(attn.proj(out))))
