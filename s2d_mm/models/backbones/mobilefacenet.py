"""MobileFaceNet, the 68-point landmark regressor that S2D's release uses.

The released landmark branch (``landmark/mobilefacenet_model_best.pth.tar``)
is the MobileFaceNet of cunjian/pytorch_face_landmark: a 112x112 face crop
goes through depth-wise separable stages down to a 512x7x7 map, and a global
depth-wise conv (GDC) + linear + BatchNorm1d regresses 136 numbers, the
(x, y) of 68 landmarks normalised to [0, 1] of the crop. S2D taps the
128x14x14 output of the ``conv_4`` stage.

Here the network is split the OpenMMLab way:

* :class:`MobileFaceNet` (mmpose backbone) holds the stem and stages
  ``conv1`` ... ``conv_6_sep`` under the released names, so the released
  state dict loads into it without renaming; ``out_indices`` picks stages
  (``MobileFaceNet.arch_stages``; ``conv_4`` is index 5).
* :class:`MobileFaceNetHead` (mmpose head, a :class:`RegressionHead`) holds
  the GDC regression (released ``output_layer.*``) and reuses mmpose's
  regression loss, decoding and accuracy.

A complete ``TopdownPoseEstimator`` therefore holds the released keys
prefixed by ``backbone.`` or (``output_layer.*``) ``head.``; the config
``configs/_base_/models/landmark_mobilefacenet.py`` builds it.
:func:`convert_mobilefacenet_state_dict` maps a released checkpoint to that
layout, and both parts can also read the released file unchanged through
``init_cfg=dict(type='Pretrained', checkpoint=...)`` (each part takes its
keys and mmengine logs the other part's keys as unexpected).
"""
import re
from collections import OrderedDict
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.models.heads import RegressionHead
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS
from torch import Tensor

from s2d_mm.registry import MMPOSE_MODELS, build_in_scope

__all__ = [
    'MobileFaceNet', 'MobileFaceNetHead', 'convert_mobilefacenet_state_dict'
]


class ConvBlock(nn.Module):
    """Conv (no bias) -> BatchNorm -> optional PReLU.

    The released ``Conv_block`` (with PReLU) and ``Linear_block`` (without).
    mmcv's ``ConvModule`` would name the activation ``activate``; the released
    checkpoint names it ``prelu``, so this small block keeps those names.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 1,
                 stride: int = 1,
                 padding: int = 0,
                 groups: int = 1,
                 with_act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.prelu = nn.PReLU(out_channels) if with_act else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(x))
        return self.prelu(x) if self.prelu is not None else x


class DepthWiseBlock(nn.Module):
    """Inverted bottleneck: 1x1 expand, 3x3 depth-wise, linear 1x1 project.

    The released ``Depth_Wise``; with ``residual=True`` (stride 1, same
    channels) the input is added to the projection.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 hidden_channels: int,
                 stride: int = 1,
                 residual: bool = False):
        super().__init__()
        if residual and (stride != 1 or in_channels != out_channels):
            raise ValueError('a residual DepthWiseBlock needs stride 1 and '
                             f'equal channels, got stride {stride}, '
                             f'{in_channels} -> {out_channels}')
        self.conv = ConvBlock(in_channels, hidden_channels, 1)
        self.conv_dw = ConvBlock(
            hidden_channels,
            hidden_channels,
            3,
            stride=stride,
            padding=1,
            groups=hidden_channels)
        self.project = ConvBlock(
            hidden_channels, out_channels, 1, with_act=False)
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.project(self.conv_dw(self.conv(x)))
        return x + out if self.residual else out


class ResidualStage(nn.Module):
    """``num_blocks`` residual :class:`DepthWiseBlock` s (released
    ``Residual``; the blocks live in ``.model`` as in the checkpoint)."""

    def __init__(self, channels: int, num_blocks: int, hidden_channels: int):
        super().__init__()
        self.model = nn.Sequential(*[
            DepthWiseBlock(
                channels, channels, hidden_channels, residual=True)
            for _ in range(num_blocks)
        ])

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class GDC(nn.Module):
    """Global depth-wise conv regression (released ``GDC``).

    ``(N, C, k, k)`` -> depth-wise ``k x k`` conv + BN -> flatten ->
    linear (no bias) -> BatchNorm1d -> ``(N, out_features)``.
    """

    def __init__(self, in_channels: int, out_features: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv_6_dw = ConvBlock(
            in_channels,
            in_channels,
            kernel_size,
            groups=in_channels,
            with_act=False)
        self.linear = nn.Linear(in_channels, out_features, bias=False)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.kernel_size, self.kernel_size):
            raise ValueError(
                f'GDC expects a {self.kernel_size}x{self.kernel_size} feature '
                f'map (input size / 16), got {tuple(x.shape[-2:])}; set the '
                'head\'s feat_size to the input size divided by 16')
        x = self.conv_6_dw(x).flatten(1)
        return self.bn(self.linear(x))


def _make_divisible(value: float, divisor: int = 8) -> int:
    return max(divisor, int(round(value / divisor)) * divisor)


@MMPOSE_MODELS.register_module()
class MobileFaceNet(BaseBackbone):
    """MobileFaceNet landmark backbone (stem + stages, without the GDC).

    Stages, in :attr:`arch_stages` order, with their outputs at a 112x112
    input (``widen_factor=1``):

    ====  ============  ==================  =====
    idx   name          what                out
    ====  ============  ==================  =====
    0     conv1         3x3 conv, stride 2  64x56x56
    1     conv2_dw      3x3 depth-wise      64x56x56
    2     conv_23       bottleneck, s2      64x28x28
    3     conv_3        4 residual blocks   64x28x28
    4     conv_34       bottleneck, s2      128x14x14
    5     conv_4        6 residual blocks   128x14x14 (S2D's tap)
    6     conv_45       bottleneck, s2      128x7x7
    7     conv_5        2 residual blocks   128x7x7
    8     conv_6_sep    1x1 conv            512x7x7
    ====  ============  ==================  =====

    Args:
        widen_factor (float): Scales every width (64/128 stage channels,
            their 2x/4x expansions and the 512 embedding); 1.0 is the
            released network. Default: 1.0.
        num_blocks (Sequence[int]): Residual blocks of ``conv_3``,
            ``conv_4`` and ``conv_5``. Default: (4, 6, 2) (released).
        out_indices (Sequence[int] | int): Stages to return (negative
            indices count from the end). Default: (8, ) (``conv_6_sep``, what
            :class:`MobileFaceNetHead` regresses from).
        frozen_stages (int): Stages ``0..frozen_stages`` are frozen (eval
            mode, no grad); -1 freezes nothing. Default: -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode during
            training. Default: False.
        channels_last (bool): Keep weights and activations in channels-last
            memory format, where oneDNN's depth-wise convolutions run faster
            on CPU (~20 % less time per training step of the demo network);
            values and state-dict layout are unchanged. Default: False.
        init_cfg (dict | list[dict], optional): Initialisation config; use
            ``dict(type='Pretrained', checkpoint=<released .pth.tar>)`` to
            read the released weights unchanged.

    Forward: ``(N, 3, H, W)`` -> tuple of the selected stage maps. Stages
    after the last selected one are not run.
    """

    arch_stages = ('conv1', 'conv2_dw', 'conv_23', 'conv_3', 'conv_34',
                   'conv_4', 'conv_45', 'conv_5', 'conv_6_sep')

    def __init__(self,
                 widen_factor: float = 1.0,
                 num_blocks: Sequence[int] = (4, 6, 2),
                 out_indices: Union[int, Sequence[int]] = (8, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 channels_last: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu'),
                dict(type='Constant', val=1, layer=['_BatchNorm']),
                dict(type='Normal', layer='Linear', std=0.01)
            ]
        super().__init__(init_cfg=init_cfg)
        if len(num_blocks) != 3:
            raise ValueError('num_blocks needs 3 entries (conv_3, conv_4, '
                             f'conv_5), got {tuple(num_blocks)}')
        num_stages = len(self.arch_stages)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        indices = []
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ValueError(
                    f'out_indices entry {index} is out of range for the '
                    f'{num_stages} MobileFaceNet stages {self.arch_stages}')
            indices.append(index % num_stages)
        self.out_indices = tuple(indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        c1 = _make_divisible(64 * widen_factor)
        c2 = _make_divisible(128 * widen_factor)
        embed = _make_divisible(512 * widen_factor)
        self.out_channels = (c1, c1, c1, c1, c2, c2, c2, c2, embed)

        self.conv1 = ConvBlock(3, c1, 3, stride=2, padding=1)
        self.conv2_dw = ConvBlock(c1, c1, 3, padding=1, groups=c1)
        self.conv_23 = DepthWiseBlock(c1, c1, 2 * c1, stride=2)
        self.conv_3 = ResidualStage(c1, num_blocks[0], 2 * c1)
        self.conv_34 = DepthWiseBlock(c1, c2, 4 * c1, stride=2)
        self.conv_4 = ResidualStage(c2, num_blocks[1], 2 * c2)
        self.conv_45 = DepthWiseBlock(c2, c2, 4 * c2, stride=2)
        self.conv_5 = ResidualStage(c2, num_blocks[2], 2 * c2)
        self.conv_6_sep = ConvBlock(c2, embed, 1)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        outs = []
        last = max(self.out_indices)
        for i, name in enumerate(self.arch_stages[:last + 1]):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self):
        for name in self.arch_stages[:self.frozen_stages + 1]:
            stage = getattr(self, name)
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


@MMPOSE_MODELS.register_module()
class MobileFaceNetHead(RegressionHead):
    """MobileFaceNet's GDC landmark regression as an mmpose head.

    Holds the released ``output_layer`` (``conv_6_dw``, ``linear``, ``bn``)
    under its released name. Loss, decoding (``RegressionLabel``:
    coordinates normalised to the input size) and flip test come from
    :class:`mmpose.models.heads.RegressionHead`.

    Args:
        in_channels (int): Channels of the last backbone map. Default: 512.
        num_joints (int): Number of landmarks K (68 in the release).
        feat_size (int): Side of the last backbone map (input size / 16;
            7 at 112x112). Default: 7.
        loss, decoder, init_cfg: As in :class:`RegressionHead`.

    Forward: tuple of maps, the last ``(N, in_channels, feat_size,
    feat_size)`` -> coordinates ``(N, K, 2)`` (x, y interleaved as in the
    released 136-vector).
    """

    def __init__(self,
                 in_channels: int = 512,
                 num_joints: int = 68,
                 feat_size: int = 7,
                 loss: dict = dict(
                     type='SmoothL1Loss', use_target_weight=True),
                 decoder: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_out'),
                dict(type='Normal', layer='Linear', std=0.01),
                dict(type='Constant', val=1, layer=['_BatchNorm'])
            ]
        # RegressionHead.__init__ would add an ``fc`` layer that GDC replaces.
        BaseHead.__init__(self, init_cfg)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.loss_module = build_in_scope(MMPOSE_MODELS, loss)
        self.decoder = (
            build_in_scope(KEYPOINT_CODECS, decoder) if decoder is not None else None)
        self.output_layer = GDC(in_channels, num_joints * 2, feat_size)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        return self.output_layer(feats[-1]).reshape(-1, self.num_joints, 2)


_UNWRAP_KEYS = ('state_dict', 'model_state_dict', 'model')


def convert_mobilefacenet_state_dict(
        checkpoint: Mapping,
        prefix: str = '') -> 'OrderedDict[str, Tensor]':
    """Released MobileFaceNet checkpoint -> mmpose ``TopdownPoseEstimator``.

    Accepts the loaded ``.pth.tar`` (a dict with ``state_dict``) or a bare
    state dict, with or without DataParallel's ``module.`` prefix. Released
    ``output_layer.*`` go under ``head.``, everything else under
    ``backbone.``; keys already under ``backbone.``/``neck.``/``head.`` pass
    through, so the function is idempotent and also unwraps mmpose
    checkpoints.

    Args:
        checkpoint (Mapping): Loaded checkpoint or state dict.
        prefix (str): Prepended to every output key (e.g. ``'landmark.'``
            for a parent model). Default: ''.

    Returns:
        OrderedDict[str, Tensor]: The converted state dict.
    """
    state_dict = checkpoint
    for key in _UNWRAP_KEYS:
        if isinstance(state_dict, Mapping) and isinstance(
                state_dict.get(key), Mapping):
            state_dict = state_dict[key]
            break
    converted = OrderedDict()
    for key, value in state_dict.items():
        if not isinstance(value, Tensor):
            continue
        key = re.sub(r'^module\.', '', key)
        if key.startswith(('backbone.', 'neck.', 'head.')):
            new_key = key
        elif key.startswith('output_layer.'):
            new_key = 'head.' + key
        else:
            new_key = 'backbone.' + key
        converted[prefix + new_key] = value
    return converted

