"""Temporal-Modeling Adapter (TMA) of S2D.

The TMA is the only part of the video model that mixes information across
frames. It reads the (normalised) patch tokens of every frame, lets each
patch position attend over the T frames of its clip in a narrow bottleneck,
and returns a residual that the caller adds to the patch tokens. It has no
skip connection of its own.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import MultiheadAttention

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, register_in

TMA_INITS = ('release', 'zero')


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
class TemporalModelingAdapter(BaseModule):
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
    """

    def __init__(self,
                 embed_dims: int,
                 ratio: float = 0.25,
                 num_heads: int = 8,
                 norm_cfg: dict = dict(type='LN', eps=1e-5),
                 act_cfg: dict = dict(type='GELU'),
                 tma_init: str = 'release',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if tma_init not in TMA_INITS:
            raise ValueError(f'tma_init must be one of {TMA_INITS}, '
                             f'got {tma_init!r}')
        self.embed_dims = embed_dims
        self.hidden_dims = int(embed_dims * ratio)
        self.tma_init = tma_init
        self.temporal = BottleneckAdapter(
            embed_dims, self.hidden_dims, num_heads=num_heads, act_cfg=act_cfg)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.spatial = BottleneckAdapter(
            embed_dims, self.hidden_dims, num_heads=None, act_cfg=act_cfg)
        self._init_adapter()

    def _init_adapter(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.tma_init == 'zero':
            nn.init.zeros_(self.spatial.fc_up.weight)
            nn.init.zeros_(self.spatial.fc_up.bias)

    def init_weights(self):
        """Apply the adapter's own init after any parent ``init_cfg``."""
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            self._init_adapter()

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
        z = self.temporal.attn(z)
        z = z.view(b, n, num_frames, -1).transpose(1, 2)
        z = self.temporal.fc_up(z).reshape(bt, n, d)
        return self.spatial.fc_up(self.spatial.down(self.norm(z)))
