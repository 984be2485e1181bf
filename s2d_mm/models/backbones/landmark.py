"""The landmark branch of S2D: a frozen mmpose face model as feature source.

S2D feeds every frame through an off-the-shelf face-landmark network and
injects a mid-level feature map of it into the ViT through the MCPs
(paper: "landmark-aware" features; release: MobileFaceNet ``conv_4``,
128x14x14 at a 112x112 input). :class:`LandmarkFeatureExtractor` makes that
network a config choice: any mmpose top-down face model (an ``mmpose::``
config, a local config file or an inline model dict) plus a checkpoint.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

from s2d_mm.registry import MMACTION_MODELS, MMPOSE_MODELS, MMPRETRAIN_MODELS, register_in
from s2d_mm.utils.state_dict_fit import load_state_dict_checked

from .landmark_memo import FrameMemo
from .mobilefacenet import convert_mobilefacenet_state_dict

__all__ = [
    'LandmarkFeatureExtractor', 'load_landmark_model_cfg',
    'landmark_branches_with_checkpoint'
]

# mmaction2's / mmpretrain's data preprocessors normalise RGB 0-255 frames
# with these ImageNet statistics; S2D's release uses them too.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def _resolve_cfg_path(path: str) -> str:
    """``'mmpose::face_2d_keypoint/...py'`` -> file inside the package."""
    if '::' not in path:
        if not osp.isfile(path):
            raise FileNotFoundError(f'landmark model config not found: {path}')
        return path
    from mmengine.config.utils import _get_external_cfg_base_path, _get_package_and_cfg_path
    from mmengine.utils import get_installed_path
    package, rel_path = _get_package_and_cfg_path(path)
    try:
        return _get_external_cfg_base_path(
            get_installed_path(package), rel_path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f'landmark model config {path!r} is not in the installed '
            f'{package}: {err}') from None


def load_landmark_model_cfg(
        model: Union[str, dict]) -> Tuple[ConfigDict, Optional[tuple]]:
    """Read a landmark model description.

    Args:
        model (str | dict): An mmpose config path (``'mmpose::...'`` or a
            local file), a full config dict with a ``model`` key, or a model
            dict (with ``type``).

    Returns:
        tuple: The model config and the codec ``input_size`` ``(w, h)`` of
        the config (None when it has no single codec).
    """
    if isinstance(model, str):
        cfg = Config.fromfile(_resolve_cfg_path(model))
    elif isinstance(model, dict):
        cfg = Config(copy.deepcopy(dict(model)) if 'model' in model else
                     dict(model=copy.deepcopy(dict(model))))
    else:
        raise TypeError('model must be a config path or dict, got '
                        f'{type(model).__name__}')
    if 'model' not in cfg:
        raise KeyError(f'landmark config {model!r} has no `model` entry')
    model_cfg = copy.deepcopy(cfg.model)
    input_size = None
    codec = cfg.get('codec')
    if isinstance(codec, dict) and 'input_size' in codec:
        input_size = tuple(codec['input_size'])
    return model_cfg, input_size


def _autocast_on(device: torch.device) -> bool:
    """Whether autocast is on for ``device`` (then the same frame gives
    other features than in full precision, so the memo stays out)."""
    return torch.is_autocast_enabled(device.type)


def _to_pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {value}')
    return int(value[0]), int(value[1])


def _input_affine(input_norm: str, preprocessor: dict,
                  frame_mean: Sequence[float], frame_std: Sequence[float],
                  frame_channel_order: str) -> Tuple[bool, Tensor, Tensor]:
    """Both normalisations folded into one affine map per channel:
    ``model_input = flip(frames) * scale + shift``.

    Returns:
        tuple: whether to flip the channels, ``scale`` ``(3,)`` and
        ``shift`` ``(3,)``.
    """
    if input_norm != 'model':
        return False, torch.ones(3), torch.zeros(3)
    frame_mean = torch.tensor(frame_mean, dtype=torch.float32)
    frame_std = torch.tensor(frame_std, dtype=torch.float32)
    model_order = 'rgb' if (preprocessor.get('bgr_to_rgb')
                            or preprocessor.get('rgb_to_bgr')) else 'bgr'
    flip = model_order != frame_channel_order
    if flip:
        frame_mean, frame_std = frame_mean.flip(0), frame_std.flip(0)
    mean = torch.tensor(
        preprocessor.get('mean', (0., 0., 0.)), dtype=torch.float32)
    std = torch.tensor(
        preprocessor.get('std', (1., 1., 1.)), dtype=torch.float32)
    return flip, frame_std / std, (frame_mean - mean) / std


@register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
class LandmarkFeatureExtractor(BaseModule):
    """Frozen face-landmark network -> feature map on the ViT patch grid.

    Per frame: bilinear resize (``align_corners=True``, as the release) to
    the landmark model's input size, optional re-normalisation, the model's
    backbone in eval mode under ``no_grad``, one output stage, and a resize
    or pooling onto the ViT patch grid.

    The network stays frozen: parameters have ``requires_grad=False``, the
    module stays in eval mode when the parent calls ``.train()`` (BatchNorm
    statistics never move) and :meth:`init_weights` restores the loaded
    weights if a parent's ``init_cfg`` touched them. Only the backbone of the
    pose model is kept after loading.

    Args:
        model (str | dict): mmpose top-down model: config path
            (``'mmpose::face_2d_keypoint/...py'`` or a local file, e.g.
            ``configs/_base_/models/landmark_mobilefacenet.py``), a full
            config dict or a model dict.
        checkpoint (str, optional): Weights for the whole pose model, read
            with mmengine's checkpoint loader (safe on ``import s2d_mm``).
            A checkpoint without ``backbone.``/``head.`` keys is taken as a
            bare network: released MobileFaceNet files are converted by
            :func:`convert_mobilefacenet_state_dict`, other bare files are
            loaded into the backbone. Without a checkpoint the model's own
            ``init_weights()`` runs when ``init_from_config`` is True.
        out_indices (int | Sequence[int], optional): Overrides
            ``backbone.out_indices`` of the config, e.g. ``(5, )`` for
            MobileFaceNet's ``conv_4``. Default: None (config value).
        stage (int): Index into the backbone's output tuple. Default: -1.
        input_size (int | tuple, optional): Landmark model input ``(w, h)``
            (mmpose order). Default: the config codec's ``input_size``.
        grid_size (int | tuple, optional): ViT patch grid ``(Hp, Wp)``;
            None keeps the native map size. Default: None.
        grid_mode (str): ``'resize'`` (bilinear) or ``'pool'`` (adaptive
            average pooling) onto the grid. Default: 'resize'.
        input_norm (str): ``'release'`` feeds the frames as the ViT gets them
            (ImageNet-normalised RGB; docs/released_code.md §7, item 11).
            ``'model'`` undoes ``frame_mean``/``frame_std`` and applies the
            landmark model's ``data_preprocessor`` mean/std and channel
            order.
            Default: 'release'.
        frame_mean, frame_std (Sequence[float]): The ViT's normalisation of
            0-255 frames. Default: ImageNet statistics.
        frame_channel_order (str): Channel order of the frames, 'rgb' or
            'bgr'. Default: 'rgb'.
        channels_last (bool): Run the network in channels-last memory
            format. Default: False.
        memo_frames (int): Remember the features of up to this many frames,
            keyed by the frame's bytes (:class:`FrameMemo`): a frame seen
            before (every validation / test pass, training without random
            augmentation) skips the network. 0 turns it off. Default: 0.
        strict (bool): Strict checkpoint loading. Default: True.
        init_from_config (bool): Without a checkpoint, run the model's
            ``init_weights()`` (its ``init_cfg``, e.g. ``Pretrained``).
            Default: True.

    Attributes:
        out_channels (int): ``C_l``, channels of the returned map.
        feat_size (tuple): ``(h, w)`` of the stage map at ``input_size``.
    """

    def __init__(self,
                 model: Union[str, dict],
                 checkpoint: Optional[str] = None,
                 out_indices: Optional[Union[int, Sequence[int]]] = None,
                 stage: int = -1,
                 input_size: Optional[Union[int, Sequence[int]]] = None,
                 grid_size: Optional[Union[int, Sequence[int]]] = None,
                 grid_mode: str = 'resize',
                 input_norm: str = 'release',
                 frame_mean: Sequence[float] = IMAGENET_MEAN,
                 frame_std: Sequence[float] = IMAGENET_STD,
                 frame_channel_order: str = 'rgb',
                 channels_last: bool = False,
                 memo_frames: int = 0,
                 strict: bool = True,
                 init_from_config: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if grid_mode not in ('resize', 'pool'):
            raise ValueError("grid_mode must be 'resize' or 'pool', got "
                             f'{grid_mode!r}')
        if input_norm not in ('release', 'model'):
            raise ValueError("input_norm must be 'release' or 'model', got "
                             f'{input_norm!r}')
        if frame_channel_order not in ('rgb', 'bgr'):
            raise ValueError("frame_channel_order must be 'rgb' or 'bgr', "
                             f'got {frame_channel_order!r}')

        model_cfg, cfg_input_size = load_landmark_model_cfg(model)
        if out_indices is not None:
            model_cfg.backbone.out_indices = (
                out_indices if isinstance(out_indices, int) else
                tuple(out_indices))
        if input_size is None:
            input_size = cfg_input_size
        if input_size is None:
            raise ValueError(
                f'landmark model {model!r} has no codec input_size; pass '
                'input_size=(w, h) to LandmarkFeatureExtractor')
        w, h = _to_pair(input_size, 'input_size')
        self.input_size = (w, h)
        self.grid_size = (None if grid_size is None else _to_pair(
            grid_size, 'grid_size'))
        self.grid_mode = grid_mode
        self.input_norm = input_norm
        self.stage = stage
        self.channels_last = channels_last
        self.model_name = model if isinstance(model, str) else model_cfg.get(
            'type', 'inline model')
        self.checkpoint = checkpoint
        self.memo = FrameMemo(memo_frames) if memo_frames else None

        self.backbone = self._build_backbone(model_cfg, checkpoint, strict,
                                             init_from_config)
        self.flip_channels, scale, shift = _input_affine(
            input_norm, model_cfg.get('data_preprocessor') or {},
            frame_mean, frame_std, frame_channel_order)
        self.register_buffer(
            'input_scale', scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            'input_shift', shift.view(1, 3, 1, 1), persistent=False)

        for param in self.backbone.parameters():
            param.requires_grad = False
        if channels_last:
            self.backbone.to(memory_format=torch.channels_last)
        # A CPU copy (not a buffer: it stays out of state dicts) that
        # init_weights() restores; refreshed whenever weights are loaded into
        # the branch (e.g. an S2D checkpoint that carries them).
        self._snapshot_weights()
        self.register_load_state_dict_post_hook(self._after_load)
        self.train(False)

        # One dummy frame tells the stage's channels and size, and checks
        # ``stage`` against the backbone's outputs now rather than mid-run.
        probe = self._run_backbone(torch.zeros(1, 3, h, w))
        self.out_channels = probe.shape[1]
        self.feat_size = tuple(probe.shape[-2:])

    # -- loading ---------------------------------------------------------
    def _build_backbone(self, model_cfg, checkpoint: Optional[str],
                        strict: bool, init_from_config: bool) -> nn.Module:
        """The pose model's backbone, with its weights: from ``checkpoint``,
        else from the model's own ``init_weights`` if asked."""
        # The pose model is built in mmpose's scope whatever the caller's
        # default scope is (mmaction / mmpretrain configs).
        with DefaultScope.overwrite_default_scope('mmpose'):
            pose_model = MMPOSE_MODELS.build(model_cfg)
        if checkpoint is not None:
            self._load_checkpoint(pose_model, checkpoint, strict)
        elif init_from_config:
            pose_model.init_weights()
        return pose_model.backbone

    def _load_checkpoint(self, pose_model: nn.Module, checkpoint: str,
                         strict: bool) -> None:
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'landmark checkpoint not found: {checkpoint}')
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
        # Unwraps ``state_dict``, drops ``module.`` and puts bare keys under
        # ``backbone.`` (released MobileFaceNet ``output_layer`` -> head).
        state_dict = convert_mobilefacenet_state_dict(loaded)
        if not any(k.startswith('backbone.') for k in state_dict):
            raise KeyError(f'landmark checkpoint {checkpoint} has no '
                           'backbone weights')
        if strict and not any(k.startswith('head.') for k in state_dict):
            # A backbone-only checkpoint cannot fill the head; load only the
            # part that matters here.
            state_dict = {
                k[len('backbone.'):]: v
                for k, v in state_dict.items() if k.startswith('backbone.')
            }
            pose_model = pose_model.backbone
        load_state_dict_checked(
            pose_model, state_dict, checkpoint, strict=strict,
            hint=f'(landmark model {self.model_name}; '
            'LandmarkFeatureExtractor(strict=False) loads what fits)')

    def _snapshot_weights(self) -> None:
        self._loaded_state = {
            k: v.detach().cpu().clone()
            for k, v in self.backbone.state_dict().items()
        }

    def _after_load(self, module, incompatible_keys) -> None:
        self._snapshot_weights()
        if self.memo is not None:
            self.memo.clear()

    def init_weights(self) -> None:
        """Restore the weights loaded at construction.

        A parent's ``init_cfg`` (e.g. Kaiming on every ``Conv2d``) is applied
        to all its submodules before their ``init_weights`` run, so this
        undoes what it did to the frozen branch. The flag ``is_init`` stays
        False so that this happens on every call.
        """
        self.backbone.load_state_dict(self._loaded_state)
        if self.memo is not None:
            self.memo.clear()

    def train(self, mode: bool = True) -> 'LandmarkFeatureExtractor':
        """The branch is frozen: it stays in eval mode whatever ``mode``."""
        return super().train(False)

    # -- forward ---------------------------------------------------------
    def _run_backbone(self, x: Tensor) -> Tensor:
        param = next(self.backbone.parameters(), None)
        if param is not None and x.dtype != param.dtype and \
                not torch.is_autocast_enabled():
            x = x.to(param.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        outs = self.backbone(x)
        if isinstance(outs, Tensor):
            outs = (outs, )
        try:
            return outs[self.stage]
        except IndexError:
            raise IndexError(
                f'stage {self.stage} is out of range: the backbone of '
                f'{self.model_name} returns {len(outs)} map(s); choose the '
                'stage with `out_indices` and `stage`') from None

    def to_grid(self,
                feat: Tensor,
                grid_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Bring ``(N, C_l, h, w)`` maps onto the patch grid ``(Hp, Wp)``."""
        grid_size = grid_size or self.grid_size
        if grid_size is None or tuple(feat.shape[-2:]) == tuple(grid_size):
            return feat
        if self.grid_mode == 'pool':
            return F.adaptive_avg_pool2d(feat, grid_size)
        return F.interpolate(
            feat, size=grid_size, mode='bilinear', align_corners=False)

    @torch.no_grad()
    def extract(self, frames: Tensor) -> Tensor:
        """Stage map at the model's input size, ``(N, 3, H, W)`` ->
        ``(N, C_l, h, w)``; no grid resize."""
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError('frames must be (N, 3, H, W), got '
                             f'{tuple(frames.shape)}')
        w, h = self.input_size
        x = frames
        if tuple(x.shape[-2:]) != (h, w):
            x = F.interpolate(
                x, size=(h, w), mode='bilinear', align_corners=True)
        if self.input_norm == 'model':
            if self.flip_channels:
                x = x.flip(1)
            x = x * self.input_scale.to(x.dtype) + \
                self.input_shift.to(x.dtype)
        return self._run_backbone(x)

    def forward(self,
                frames: Optional[Tensor] = None,
                landmark_feat: Optional[Tensor] = None,
                grid_size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Landmark features on the ViT patch grid.

        Args:
            frames (Tensor, optional): ``(N, 3, H, W)`` frames normalised as
                the ViT receives them (N = B*T).
            landmark_feat (Tensor, optional): Precomputed ``(N, C_l, h, w)``
                maps (e.g. from :class:`LandmarkFeatureCache`); when given,
                the network is not run and only the grid mapping applies.
            grid_size (tuple, optional): ``(Hp, Wp)`` overriding the
                configured grid.

        Returns:
            Tensor: ``(N, C_l, Hp, Wp)`` in the frames' dtype, no grad.
        """
        if landmark_feat is not None:
            if landmark_feat.dim() != 4 or \
                    landmark_feat.shape[1] != self.out_channels:
                raise ValueError(
                    f'landmark_feat must be (N, {self.out_channels}, h, w), '
                    f'got {tuple(landmark_feat.shape)}')
            feat, dtype = landmark_feat, landmark_feat.dtype
        elif frames is None:
            raise ValueError('pass frames or landmark_feat')
        elif self.memo is not None and not _autocast_on(frames.device):
            feat, dtype = self.memo(frames, self.extract), frames.dtype
        else:
            feat, dtype = self.extract(frames), frames.dtype
        with torch.no_grad():
            return self.to_grid(feat, grid_size).to(dtype)

    def extra_repr(self) -> str:
        return (f'model={self.model_name!r}, stage={self.stage}, '
                f'input_size={self.input_size}, grid_size={self.grid_size}, '
                f'grid_mode={self.grid_mode!r}, '
                f'input_norm={self.input_norm!r}, '
                f'out_channels={self.out_channels}')


def landmark_branches_with_checkpoint(model: nn.Module) -> List[str]:
    """Key prefixes (e.g. ``'backbone.landmark.'``) of the landmark branches
    of ``model`` that loaded their own ``checkpoint`` when built.

    A checkpoint of the whole model may leave these keys out (converted
    release checkpoints and the image stage's do); a branch without a
    checkpoint of its own must get its weights from the model's checkpoint.
    """
    return [
        name + '.' for name, module in model.named_modules()
        if isinstance(module, LandmarkFeatureExtractor) and module.checkpoint
    ]
