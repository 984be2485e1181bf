"""Multi-View Complementary Prompter (MCP) of S2D.

The MCP turns the image view (patch tokens) and the landmark view (landmark
tokens, or the previous MCP's prompt) into a prompt that is added to the patch
tokens in front of a ViT block. In the video stage it also carries that
block's Temporal-Modeling Adapter, as the released ``Prompt_block`` does.

The release writes the three projections as 1x1 convolutions on 14x14 maps;
here they are per-token linear layers, which compute the same thing without
moving tokens into channel-first maps (the converter squeezes the conv
kernels).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, build_in_scope, register_in

from ..utils.weight_init import OwnInitMixin


@register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
class MultiViewComplementaryPrompter(OwnInitMixin, BaseModule):
    """Multi-View Complementary Prompter (MCP_i, ``Prompt_block``).

    With image tokens ``u`` and landmark tokens ``v`` (both ``(B', N, D)``)::

        g = proj_image(u)                        # D -> h
        g = g * softmax_N(fovea_scale * g)       # "fovea", per channel
        p = proj_out(g + proj_landmark(v))       # h -> D
        t = tma(u, T) if the MCP holds a TMA, else None

    Args:
        embed_dims (int): Token width D.
        hidden_dims (int): Width h of the prompt bottleneck. Defaults to 8.
        fovea_scale (float): Initial value of the learnable inverse
            temperature of the fovea softmax. Defaults to 10.
        tma (dict, optional): Config of the TMA this prompter carries
            (video stage); ``embed_dims`` is filled in. ``None`` in the
            image stage.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int = 8,
                 fovea_scale: float = 10.0,
                 tma: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.hidden_dims = hidden_dims
        self.fovea_scale_init = fovea_scale
        self.proj_image = nn.Linear(embed_dims, hidden_dims)
        self.proj_landmark = nn.Linear(embed_dims, hidden_dims)
        self.proj_out = nn.Linear(hidden_dims, embed_dims)
        self.fovea_scale = nn.Parameter(torch.full((1, ), float(fovea_scale)))
        if tma is None:
            self.tma = None
        else:
            tma = dict(tma)
            tma.setdefault('type', 'TemporalModelingAdapter')
            tma.setdefault('embed_dims', embed_dims)
            self.tma = build_in_scope(MMACTION_MODELS, tma)
        self.init_own_weights()

    def init_own_weights(self) -> None:
        # The release initialises every >=2-D parameter of the prompter with
        # Xavier-uniform; biases keep PyTorch's default.
        for m in (self.proj_image, self.proj_landmark, self.proj_out):
            nn.init.xavier_uniform_(m.weight)
            bound = m.in_features**-0.5
            nn.init.uniform_(m.bias, -bound, bound)
        with torch.no_grad():
            self.fovea_scale.fill_(self.fovea_scale_init)

    def forward(self,
                u: torch.Tensor,
                v: torch.Tensor,
                num_frames: Optional[int] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Prompt and temporal residual.

        Args:
            u (Tensor): Normalised patch tokens ``(B*T, N, D)``.
            v (Tensor): Normalised landmark tokens or previous prompt
                ``(B*T, N, D)``.
            num_frames (int, optional): T; needed when the MCP has a TMA.

        Returns:
            tuple: prompt ``p`` ``(B*T, N, D)`` and the TMA output
            ``(B*T, N, D)`` or ``None`` without TMA.
        """
        g = self.proj_image(u)
        # softmax over the N positions of each of the h channels
        g = g * torch.softmax(g * self.fovea_scale, dim=1)
        p = self.proj_out(g + self.proj_landmark(v))
        if self.tma is None:
            return p, None
        if num_frames is None:
            raise ValueError('this MCP holds a TMA: pass num_frames')
        return p, self.tma(u, num_frames)
