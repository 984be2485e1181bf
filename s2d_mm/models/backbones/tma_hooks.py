"""Temporal-Modeling Adapters for stock mmaction2 / mmpretrain ViTs.

``TMABackbone`` builds an existing ViT backbone unchanged and puts a TMA in
front of each of its transformer blocks through forward pre-hooks::

    x_i <- x_i + TMA_i(LN_i(patch tokens of x_i))        before block i

so temporal adapters can be added to any ViT-based config without code:

.. code-block:: python

    _base_ = ['mmaction::recognition/videomae/'
              'vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py']
    custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)
    model = dict(backbone=dict(type='TMABackbone',
                               backbone_type='VisionTransformer'))

Every other key of the inherited backbone config is passed to
``backbone_type`` as it is. The returned module *is* the stock backbone
(same class, same state-dict keys, so its checkpoints load unchanged) with
one extra child, ``tma_adapters``.

Token layouts (the block input ``(B', L, D)``):

- ``'tokens'``: one sequence per clip, ``L = P + T'*N`` (P prefix tokens,
  then T' groups of N patch tokens, time-major), as in mmaction2's
  VideoMAE ``VisionTransformer`` (T' = frames / tubelet size).
- ``'frames'``: frames folded into the batch, ``B' = B*T``,
  ``L = P + N``, as in a 2-D ViT run on every frame.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule, ModuleList

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, build_in_scope

from ..utils.weight_init import check_frozen_loaded, split_init_cfg

LAYOUTS = ('tokens', 'frames')


class BlockTemporalAdapter(BaseModule):
    """LayerNorm + TMA run as a forward pre-hook of one transformer block.

    Args:
        embed_dims (int): Token width D.
        tma (dict): :class:`TemporalModelingAdapter` arguments.
        norm_cfg (dict): Norm applied to the patch tokens before the TMA.
        layout (str): ``'tokens'`` or ``'frames'``.
        num_prefix_tokens (int): Tokens before the patches (left alone).
    """

    def __init__(self, embed_dims: int, tma: dict, norm_cfg: dict,
                 layout: str, num_prefix_tokens: int):
        super().__init__()
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        cfg = dict(type='TemporalModelingAdapter', embed_dims=embed_dims)
        cfg.update(tma)
        self.tma = build_in_scope(MMACTION_MODELS, cfg)
        self.layout = layout
        self.num_prefix = num_prefix_tokens
        # T' of the backbone forward running now: set by the backbone's
        # pre-hook, cleared by its post-hook (TemporalAdapterSet)
        self.current_frames = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with ``TMA(LN(patch tokens))`` added to its patch tokens.

        Args:
            x (Tensor): Block input, ``(B, P + T'*N, D)`` (``'tokens'``) or
                ``(B*T, P + N, D)`` (``'frames'``).
        """
        t_size, k = self.current_frames, self.num_prefix
        if t_size is None:
            raise RuntimeError(
                'a TMA block hook ran outside the forward of its backbone, '
                'which tells it the number of frames: call the backbone, '
                'not its blocks')
        prefix, patches = x[:, :k], x[:, k:]
        if self.layout == 'tokens':
            b, length, d = patches.shape
            if length % t_size:
                raise ValueError(f'{length} patch tokens cannot be split '
                                 f'into {t_size} temporal positions')
            # time-major tokens: (B, T'*N, D) -> (B*T', N, D) is a view
            u = patches.reshape(b * t_size, length // t_size, d)
            t = self.tma(self.norm(u), t_size).view(b, length, d)
        else:
            t = self.tma(self.norm(patches), t_size)
        if k:
            return torch.cat((prefix, patches + t), dim=1)
        return patches + t

    def block_hook(self, module, args):
        """Forward pre-hook of the block: replace its input."""
        return (self(args[0]), ) + tuple(args[1:])


class TemporalAdapterSet(ModuleList):
    """The TMAs of one backbone; its backbone pre-hook sets T' per forward.

    A stock block's ``forward(x)`` takes no frame count, so T' reaches the
    block hooks as per-forward state: the backbone's pre-hook
    (:meth:`backbone_hook`) sets ``current_frames`` of every adapter and its
    post-hook (:meth:`backbone_done_hook`) clears it. This is **not
    re-entrant**: one forward of a given backbone at a time (two threads
    sharing one module, or a block called outside the backbone, would see
    another forward's T'; the latter raises instead). Separate copies of
    the model (``copy.deepcopy``, one per thread or process) are
    independent: hooks are bound methods of these modules, so a deep copy
    of the backbone (EMA, model soups) copies them along with the adapters.
    """

    def __init__(self, adapters, num_frames, temporal_stride, input_format,
                 allow_partial_init=False):
        super().__init__(adapters)
        self.num_frames = num_frames
        self.temporal_stride = temporal_stride
        self.input_format = input_format
        self.allow_partial_init = allow_partial_init
        # keys (and shapes) any load offered the backbone before training
        self._offered = {}
        self._frozen_checked = False

    def record_load(self, module, state_dict, prefix, *args):
        """Load pre-hook of the backbone: what an ``init_cfg`` loader,
        ``load_from`` or ``resume`` offers it, until training starts."""
        if self._frozen_checked:
            return
        for key, value in state_dict.items():
            if key.startswith(prefix) and hasattr(value, 'shape'):
                self._offered[key[len(prefix):]] = tuple(value.shape)

    def check_frozen_loaded(self, backbone: nn.Module) -> None:
        """At the first training forward: when the stock backbone's
        ``init_cfg`` loads weights, every frozen stock parameter must have
        been loaded (:func:`~s2d_mm.models.utils.weight_init.
        check_frozen_loaded`); ``tma_args.allow_partial_init`` allows it."""
        self._frozen_checked = True
        _, loaders = split_init_cfg(getattr(backbone, 'init_cfg', None))
        if not loaders:
            return
        frozen = [n for n, p in backbone.named_parameters()
                  if not p.requires_grad and not n.startswith('tma_adapters.')]
        check_frozen_loaded(
            backbone, frozen, self._offered, loaders, self.allow_partial_init,
            switch='tma_args.allow_partial_init=True in the backbone config')
        self._offered = {}

    def backbone_hook(self, module, args):
        """Forward pre-hook of the backbone: find T' for this input (and,
        at the first training forward, check the frozen part was loaded)."""
        if module.training and not self._frozen_checked:
            self.check_frozen_loaded(module)
        x = args[0] if args else None
        if self.num_frames is not None:
            t_size = self.num_frames
        elif isinstance(x, torch.Tensor) and x.dim() == 5:
            t_axis = 2 if self.input_format == 'NCTHW' else 1
            t_size = x.shape[t_axis] // self.temporal_stride
        else:
            raise ValueError(
                'TMABackbone cannot tell the number of frames from an input '
                f'of shape {None if x is None else tuple(x.shape)}: set '
                'num_frames')
        for adapter in self:
            adapter.current_frames = t_size

    def backbone_done_hook(self, module, args, output):
        """Forward hook of the backbone: the forward is over, forget T'."""
        for adapter in self:
            adapter.current_frames = None


def _get_blocks(backbone: nn.Module, path: str) -> nn.ModuleList:
    module = backbone
    for name in path.split('.'):
        if not hasattr(module, name):
            raise AttributeError(
                f'{type(backbone).__name__} has no {path!r} (blocks_attr); '
                'name the module list of its transformer blocks')
        module = getattr(module, name)
    if not isinstance(module, (nn.ModuleList, nn.Sequential)):
        raise TypeError(f'{path!r} of {type(backbone).__name__} is a '
                        f'{type(module).__name__}, not a list of blocks')
    return module


def inject_temporal_adapters(backbone: nn.Module,
                             embed_dims: Optional[int] = None,
                             blocks_attr: str = 'blocks',
                             block_indices: Optional[Sequence[int]] = None,
                             layout: str = 'tokens',
                             num_frames: Optional[int] = None,
                             temporal_stride: Optional[int] = None,
                             num_prefix_tokens: int = 0,
                             input_format: str = 'NCTHW',
                             tma: dict = dict(ratio=0.25, num_heads=8,
                                              tma_init='zero'),
                             norm_cfg: dict = dict(type='LN', eps=1e-6),
                             freeze_backbone: bool = True,
                             allow_partial_init: bool = False) -> nn.Module:
    """Add TMAs in front of the blocks of an already built ViT backbone.

    Args:
        backbone (nn.Module): The stock backbone.
        embed_dims (int, optional): D; read from ``backbone.embed_dims`` when
            not given.
        blocks_attr (str): Dotted name of its block list (``'blocks'`` for
            mmaction2's ViTs, ``'layers'`` for mmpretrain's).
        block_indices (Sequence[int], optional): Blocks that get a TMA
            (default: all).
        layout (str): ``'tokens'`` or ``'frames'`` (module docstring).
        num_frames (int, optional): Temporal positions T' the blocks see.
            Default: read from each 5-D input as ``T // temporal_stride``.
        temporal_stride (int, optional): Frames per temporal token; default:
            the temporal kernel of ``backbone.patch_embed`` if it is a 3-D
            conv, else 1.
        num_prefix_tokens (int): Tokens before the patches (cls: 1).
        input_format (str): ``'NCTHW'`` or ``'NTCHW'`` of the 5-D input.
        tma (dict): :class:`TemporalModelingAdapter` arguments; the default
            ``tma_init='zero'`` keeps the pre-trained function at the start.
        norm_cfg (dict): Norm in front of each TMA.
        freeze_backbone (bool): Freeze every stock parameter, so that only
            the adapters train. Defaults to True.
        allow_partial_init (bool): When the stock ``init_cfg`` loads
            weights (``Pretrained``), the first training forward refuses a
            frozen stock parameter that no load (``init_cfg``,
            ``load_from``, ``resume``) filled; True only warns. Defaults to
            False.

    Returns:
        nn.Module: ``backbone`` itself, with ``tma_adapters``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if hasattr(backbone, 'tma_adapters'):
        raise ValueError('this backbone already has temporal adapters')
    blocks = _get_blocks(backbone, blocks_attr)
    if embed_dims is None:
        embed_dims = getattr(backbone, 'embed_dims', None)
        if not isinstance(embed_dims, int):
            raise ValueError('give embed_dims: the backbone has no int '
                             '`embed_dims` attribute')
    if block_indices is None:
        block_indices = range(len(blocks))
    block_indices = [i % len(blocks) for i in block_indices]
    if temporal_stride is None:
        temporal_stride = 1
        proj = getattr(getattr(backbone, 'patch_embed', None), 'projection',
                       None)
        if isinstance(proj, nn.Conv3d):
            temporal_stride = proj.stride[0]

    if freeze_backbone:
        for param in backbone.parameters():
            param.requires_grad = False
    adapters = TemporalAdapterSet([
        BlockTemporalAdapter(embed_dims, tma, norm_cfg, layout,
                             num_prefix_tokens) for _ in block_indices
    ], num_frames, temporal_stride, input_format, allow_partial_init)
    backbone.tma_adapters = adapters
    backbone.register_load_state_dict_pre_hook(adapters.record_load)
    backbone.register_forward_pre_hook(adapters.backbone_hook)
    backbone.register_forward_hook(adapters.backbone_done_hook)
    for adapter, i in zip(adapters, block_indices):
        blocks[i].register_forward_pre_hook(adapter.block_hook)
    return backbone


def _build_with_tmas(registry, backbone_type: str, tma_args: dict,
                     kwargs: dict) -> nn.Module:
    backbone = build_in_scope(registry, dict(type=backbone_type, **kwargs))
    return inject_temporal_adapters(backbone, **tma_args)


def TMABackbone(backbone_type: str = 'VisionTransformer',
                tma_args: Optional[dict] = None,
                **kwargs) -> nn.Module:
    """Build ``backbone_type`` from mmaction2's registry with TMAs.

    Args:
        backbone_type (str): Registered type of the stock backbone (scope
            prefix allowed, e.g. ``'mmpretrain.VisionTransformer'``).
        tma_args (dict, optional): :func:`inject_temporal_adapters`
            arguments (kept apart from the stock arguments, which may share
            names such as ``num_frames``).
        **kwargs: The stock backbone's arguments, unchanged.
    """
    tma_args = dict(tma_args or {})
    return _build_with_tmas(MMACTION_MODELS, backbone_type, tma_args, kwargs)


def PretrainTMABackbone(backbone_type: str = 'VisionTransformer',
                        tma_args: Optional[dict] = None,
                        **kwargs) -> nn.Module:
    """:func:`TMABackbone` for mmpretrain's registry (block list
    ``'layers'``, frames folded into the batch by default)."""
    args = dict(blocks_attr='layers', layout='frames', num_prefix_tokens=1)
    args.update(tma_args or {})
    return _build_with_tmas(MMPRETRAIN_MODELS, backbone_type, args,
                            kwargs)


MMACTION_MODELS.register_module(name='TMABackbone', module=TMABackbone)
MMPRETRAIN_MODELS.register_module(
    name='TMABackbone', module=PretrainTMABackbone)
