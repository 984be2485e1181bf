"""Convolutional patch embedding for ViTs trained from scratch.

A ViT's patch embedding is one strided convolution (``kernel = stride =
patch``). Trained from scratch on a few thousand images it learns slowly:
nothing in it prefers local edges, and at 64 px the cues of a facial
expression (the corners of the mouth, the brows) are a few pixels wide. The
hybrid ViT of Dosovitskiy et al. (2021, "R50+ViT") and the convolutional
stems of Xiao et al. (2021, "Early convolutions help transformers see
better") replace it with a small CNN whose output grid is the patch grid.

:class:`ConvPatchStem` is such a CNN, written as a *conv layer type* so that
mmcv's ``PatchEmbed`` (and so mmpretrain's ``VisionTransformer`` and the
S2D backbones) use it through ``patch_cfg=dict(conv_type='ConvPatchStem')``:
the position embedding, patch grid and checkpoints keep their layout. The
S2D demo uses it (its tiny ViT is trained from scratch); the paper's models
keep the plain patch embedding of the pretrained ViT-B/16.
"""
import math

import torch
import torch.nn as nn

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, register_in


@register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
class ConvPatchStem(nn.Sequential):
    """CNN patch embedding: ``log2(patch)`` stages of 3x3 conv (stride 1),
    BatchNorm, ReLU and 2x2 max-pooling, then a 1x1 projection.

    Widths double from stage to stage and end at ``out_channels`` (for
    D=64, patch 8: 16, 32, 64). Each stage convolves at full resolution
    before pooling, so details smaller than a stride survive (3x3 convs with
    stride 2 lose them and train as slowly as the plain patch embedding on
    the demo data).

    It runs in channels-last memory format (weights and activations):
    oneDNN's full-resolution 3x3 convolutions, BatchNorm and pooling take
    ~40 % less time so on CPU (forward + backward of a 32 x 64 px batch),
    with the same values and state-dict layout; the output is handed back in
    the default layout.

    Shapes: ``(N, C_in, H, W)`` -> ``(N, D, H / patch, W / patch)``.

    Args:
        in_channels (int): Input channels (3).
        out_channels (int): Token width D.
        kernel_size (int | tuple): The patch size; must equal ``stride``
            and be a power of 2 (``PatchEmbed`` passes both).
        stride (int | tuple): The patch size.
        padding (int | tuple): Must be 0 (``PatchEmbed`` pads the input to
            a multiple of the patch size itself).
        dilation (int | tuple): Must be 1.
        bias (bool): Bias of the final 1x1 projection.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=None,
                 padding=0, dilation=1, bias=True):
        patch = _single(kernel_size, 'kernel_size')
        if _single(stride if stride is not None else patch, 'stride') != patch:
            raise ValueError(f'ConvPatchStem: stride {stride} must equal the '
                             f'patch size {kernel_size}')
        if _single(padding, 'padding') != 0 or _single(dilation,
                                                       'dilation') != 1:
            raise ValueError('ConvPatchStem: padding must be 0 and dilation '
                             f'1, got {padding} and {dilation}')
        num_stages = int(round(math.log2(patch)))
        if num_stages < 1 or 2**num_stages != patch:
            raise ValueError('ConvPatchStem: the patch size must be a power '
                             f'of 2 (>= 2), got {patch}')
        layers = []
        width_in = in_channels
        for k in range(num_stages):
            width = max(8, out_channels // 2**(num_stages - 1 - k))
            layers += [
                nn.Conv2d(width_in, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            width_in = width
        layers.append(nn.Conv2d(width_in, out_channels, 1, bias=bias))
        super().__init__(*layers)
        self.patch_size = patch
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        x = super().forward(x.contiguous(memory_format=torch.channels_last))
        return x.contiguous()


def _single(value, name):
    """One int from an int or a square pair (PatchEmbed passes pairs)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(f'ConvPatchStem: non-square {name} {value}')
        value = value[0]
    return int(value)
