"""ViT + Multi-View Complementary Prompters (image stage) and S2D (video).

Both backbones are mmpretrain's :class:`VisionTransformer` (its patch embed,
``TransformerEncoderLayer`` blocks with ``scaled_dot_product_attention``,
position embedding, final norm, ``frozen_stages`` and ``init_cfg``) with what
S2D adds around the blocks:

- a landmark view: feature maps of a frozen face-landmark network, projected
  to tokens by ``landmark_embed`` (the release's ``patch_embed_prompt``, a
  1x1 conv written as a per-token linear layer);
- one MCP in front of each block (``deep``) or of the first only
  (``shallow``), with their LayerNorms ``prompt_norms``;
- for video (:class:`S2DViT`), a TMA inside every MCP and a learnable
  temporal embedding.

Forward pass (``a``: landmark stream, ``LN_i = prompt_norms[i]``)::

    x = patch_embed(frames); a = landmark_embed(landmark_feat)
    p, t = MCP_0(LN_0(x), LN_0(a)); a = p; x = x + t + p
    x = cat(cls, x) + pos_embed (+ temporal_embedding[frame])
    for i, block in enumerate(layers):
        if i >= 1 and deep:
            p, t = MCP_i(LN_{i-1}(x[:, 1:]), LN_0(a)); a = p
            x = cat(x[:, :1], x[:, 1:] + t + p)
        x = block(x)
    x = ln1(x)                                   # final norm

The two quirks of the released code are kept on purpose: the patch tokens in
front of MCP_i go through ``LN_{i-1}`` (so ``LN_0`` serves MCP_0 and MCP_1
and the last norm is never used) and the landmark stream always goes through
``LN_0``.
"""
import re
from typing import List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from s2d_mm.registry import MMACTION_MODELS, MMPRETRAIN_MODELS, register_in

from ..utils.weight_init import OwnInitMixin, check_frozen_loaded, recorded_load_keys

PROMPT_TYPES = ('deep', 'shallow')

#: Trainable parameters of the released video stage (names inside the
#: backbone; regular expressions, ``re.search``): temporal embedding, final
#: norm, landmark projection, prompt norms and the MCPs with their TMAs.
S2D_RELEASE_TRAINABLE = (r'^temporal_embedding$', r'^ln1\.',
                         r'^landmark_embed\.', r'^prompt_norms\.',
                         r'^prompters\.')


def _vit_arch_zoo():
    zoo = dict(VisionTransformer.arch_zoo)
    # mmpretrain's 'small' is a 768-wide, 8-layer model; the ViT-S/16 of the
    # ViT/DeiT/MAE papers is its 'deit-small'.
    zoo.update(
        dict.fromkeys(['vit-s', 'vit-small', 'vit-s/16'],
                      dict(zoo['deit-small'])))
    zoo.update(
        dict.fromkeys(['vit-b', 'vit-base', 'vit-b/16'], dict(zoo['base'])))
    return zoo


@register_in(MMPRETRAIN_MODELS)
class ViTMCP(OwnInitMixin, VisionTransformer):
    """ViT with Multi-View Complementary Prompters (S2D image stage, SFER).

    Args:
        arch (str | dict): ``'vit-small'`` (ViT-S: 384 wide, 12 layers,
            6 heads), ``'vit-base'`` (ViT-B: 768, 12, 12), any mmpretrain
            ViT arch name, or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``feedforward_channels``.
        img_size (int | tuple): Input size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        landmark (dict, optional): Config of the landmark branch
            (e.g. ``dict(type='LandmarkFeatureExtractor', ...)``), which maps
            the input frames ``(N, 3, H, W)`` to ``(N, C_l, Hp, Wp)`` on the
            patch grid. ``None``: the features must be passed to ``forward``.
        landmark_channels (int): C_l. Defaults to 128 (MobileFaceNet).
        prompt_type (str): ``'deep'`` (one MCP per block, default) or
            ``'shallow'`` (MCP_0 only).
        prompter (dict): Extra arguments of every
            :class:`MultiViewComplementaryPrompter` (``hidden_dims``,
            ``fovea_scale``).
        trainable (Sequence[str], optional): Regular expressions over
            parameter names inside the backbone; when given, only matching
            parameters train, the others are frozen. ``None``: no
            allow-list.
        frozen_stages (int): mmpretrain's stage freezing (``k > 0``: patch
            embedding and the first k blocks). Defaults to -1.
        freeze_pos_embed (bool): The release keeps ``pos_embed`` frozen in
            both stages. Defaults to True.
        allow_partial_init (bool): An ``init_cfg`` loader (``Pretrained``,
            ``ImageStageInit``) must fill every frozen parameter (a frozen
            parameter left random never learns); True: only warn, listing
            them. Defaults to False.
        with_cp (bool): Activation checkpointing of the transformer blocks
            in training: a block keeps only its input and is recomputed in
            the backward pass. Frozen blocks still hold activations because
            gradients flow through them to the prompters and adapters, so
            this trades about one extra block forward for most of that
            memory; gradients are unchanged. Defaults to False.
        norm_cfg (dict): Norm of the blocks, the final norm and the prompt
            norms. Defaults to LN, eps 1e-6.
        **kwargs: Other :class:`mmpretrain.models.VisionTransformer`
            arguments (``out_type``, ``out_indices``, ``drop_path_rate``,
            ``init_cfg``, ...).

    Freezing: ``trainable``, ``frozen_stages`` and ``freeze_pos_embed`` are
    one policy (:meth:`frozen_parameter_names`), applied once when the
    backbone is built. A frozen parameter has ``requires_grad=False``; a
    BatchNorm layer whose parameters are all frozen also keeps its running
    statistics (it stays in eval mode through :meth:`train`). Dropout and
    drop-path inside frozen blocks stay active in training, as released.

    Initialisation (:meth:`init_weights`, :class:`OwnInitMixin`): the
    ``init_cfg`` initialisers, the submodules' own initialisation, the
    position (and temporal) embedding trunc-normal(0.02), then the
    ``init_cfg`` loaders (``Pretrained``, ``ImageStageInit``).

    Shapes: ``forward(x, landmark_feat=None)`` takes ``x`` ``(B, 3, H, W)``
    and ``landmark_feat`` ``(B, C_l, Hp, Wp)``; with the default
    ``out_type='cls_token'`` it returns ``((B, D),)``.
    """
    arch_zoo = _vit_arch_zoo()
    #: registry the landmark branch and prompters are built from
    _registry = MMPRETRAIN_MODELS

    def __init__(self,
                 arch: Union[str, dict] = 'vit-base',
                 img_size=224,
                 patch_size: int = 16,
                 landmark: Optional[dict] = None,
                 landmark_channels: int = 128,
                 prompt_type: str = 'deep',
                 prompter: dict = dict(hidden_dims=8, fovea_scale=10.0),
                 trainable: Optional[Sequence[str]] = None,
                 frozen_stages: int = -1,
                 freeze_pos_embed: bool = True,
                 allow_partial_init: bool = False,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 **kwargs):
        self.with_cp = with_cp
        self.allow_partial_init = allow_partial_init
        if prompt_type not in PROMPT_TYPES:
            raise ValueError(f'prompt_type must be one of {PROMPT_TYPES}, '
                             f'got {prompt_type!r}')
        # frozen_stages is not passed on: mmpretrain would apply it before
        # the prompters exist; apply_trainable_policy applies it below.
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            norm_cfg=norm_cfg,
            **kwargs)
        self.prompt_type = prompt_type
        self.landmark_channels = landmark_channels
        self.landmark = (
            self._registry.build(landmark) if landmark is not None else None)
        self.landmark_embed = nn.Linear(landmark_channels, self.embed_dims)

        num_prompts = self.num_layers if prompt_type == 'deep' else 1
        # One norm per prompter, as released. In deep prompting the last one
        # is never used; it is kept (checkpoints match the release) but
        # frozen by apply_trainable_policy, so that DDP finds every
        # trainable parameter used and needs no `find_unused_parameters`.
        self.prompt_norms = ModuleList([
            build_norm_layer(norm_cfg, self.embed_dims)
            for _ in range(num_prompts)
        ])
        self.prompters = ModuleList([
            self._registry.build(
                self._prompter_cfg(prompter, i)) for i in range(num_prompts)
        ])
        self._build_extra_parameters()

        self.trainable = tuple(trainable) if trainable is not None else None
        self.frozen_stages = frozen_stages
        self.freeze_pos_embed = freeze_pos_embed
        self.apply_trainable_policy()

    def _build_extra_parameters(self) -> None:
        """Parameters a subclass adds before the freezing policy applies."""

    def init_own_weights(self) -> None:
        """The position embedding, trunc-normal(0.02) as mmpretrain's
        ``VisionTransformer.init_weights`` (the blocks init themselves)."""
        if self.pos_embed is not None:
            trunc_normal_(self.pos_embed, std=0.02)

    def _prompter_cfg(self, prompter: dict, index: int) -> dict:
        cfg = dict(type='MultiViewComplementaryPrompter')
        cfg.update(prompter)
        cfg['embed_dims'] = self.embed_dims
        return cfg

    # ----------------------------------------------------------- parameters
    def frozen_parameter_names(self) -> Set[str]:
        """Names (inside the backbone) of the parameters that do not train.

        The one freezing policy of the S2D backbones, read from three
        declarations that add up:

        - ``trainable`` (regular expressions, ``re.search``): when given,
          every parameter that matches none of them is frozen;
        - ``frozen_stages`` (mmpretrain's meaning): ``k > 0`` freezes the
          position embedding, patch embedding, pre-norm, cls token, the
          first k blocks, and the final norm when ``k`` is the depth;
        - ``freeze_pos_embed`` (the release keeps ``pos_embed`` frozen), and
          the last prompt norm of deep prompting, which no forward uses.

        The landmark branch is not covered: it is frozen by itself.
        """
        names = [n for n, _ in self.named_parameters()
                 if not n.startswith('landmark.')]
        frozen = set()
        if self.trainable is not None:
            patterns = [re.compile(p) for p in self.trainable]
            frozen.update(n for n in names
                          if not any(p.search(n) for p in patterns))
        prefixes = list(self._frozen_stage_prefixes())
        if self.freeze_pos_embed:
            prefixes.append('pos_embed')
        if len(self.prompt_norms) > 1:
            prefixes.append(f'prompt_norms.{len(self.prompt_norms) - 1}.')
        frozen.update(
            n for n in names for p in prefixes
            if n == p or (p.endswith('.') and n.startswith(p)))
        return frozen

    def _frozen_stage_prefixes(self) -> List[str]:
        """What mmpretrain's ``_freeze_stages`` freezes for
        ``frozen_stages``, as parameter-name prefixes."""
        k = self.frozen_stages
        if k <= 0:
            return []
        prefixes = ['pos_embed', 'cls_token', 'patch_embed.', 'pre_norm.']
        prefixes += [f'layers.{i}.' for i in range(min(k, self.num_layers))]
        if k >= self.num_layers:
            if self.final_norm:
                prefixes.append('ln1.')
            if self.out_type == 'avg_featmap':
                prefixes.append('ln2.')
        return prefixes

    def apply_trainable_policy(self) -> None:
        """Set ``requires_grad`` of every parameter (the landmark branch
        aside) from :meth:`frozen_parameter_names`. Frozen BatchNorm layers
        also keep their running statistics (:meth:`train`)."""
        frozen = self.frozen_parameter_names()
        for name, param in self.named_parameters():
            if not name.startswith('landmark.'):
                param.requires_grad = name not in frozen
        self.train(self.training)

    def run_loaders(self, loaders: List[dict]) -> None:
        """Run the ``init_cfg`` loaders, then refuse the result if a frozen
        parameter got nothing from them (``allow_partial_init`` to allow)."""
        with recorded_load_keys(self) as offered:
            super().run_loaders(loaders)
        unused = f'prompt_norms.{len(self.prompt_norms) - 1}.'
        exact = self.frozen_without_effect()
        needed = sorted(
            n for n in self.frozen_parameter_names()
            if not (len(self.prompt_norms) > 1 and n.startswith(unused))
            and n not in exact)
        check_frozen_loaded(self, needed, offered, loaders,
                            self.allow_partial_init)

    def frozen_without_effect(self) -> set:
        """Frozen parameters that need no checkpoint because their own
        initialisation makes them exact no-ops (none in the image model;
        see :meth:`S2DViT.frozen_without_effect`)."""
        return set()

    def _freeze_stages(self) -> None:
        """mmpretrain's entry point, routed to the one policy."""
        self.apply_trainable_policy()

    def train(self, mode: bool = True):
        """As ``nn.Module.train``, but BatchNorm layers whose parameters the
        policy froze stay in eval mode: a frozen part (e.g. a
        :class:`ConvPatchStem` in the video stage) must not drift with the
        new data's batch statistics."""
        super().train(mode)
        if mode:
            for name, m in self.named_modules():
                if (isinstance(m, _BatchNorm) and not name.startswith(
                        'landmark.') and not any(
                            p.requires_grad for p in m.parameters())):
                    m.eval()
        return self

    # -------------------------------------------------------------- forward
    def landmark_tokens(self, frames: torch.Tensor,
                        landmark_feat: Optional[torch.Tensor],
                        patch_resolution: Tuple[int, int]) -> torch.Tensor:
        """Landmark view as tokens.

        Args:
            frames (Tensor): The ViT input ``(N, 3, H, W)`` (used only when
                ``landmark_feat`` is None).
            landmark_feat (Tensor, optional): ``(N, C_l, Hp, Wp)``.
            patch_resolution (tuple): ``(Hp, Wp)`` of the patch grid.

        Returns:
            Tensor: ``(N, Hp*Wp, D)``.
        """
        if landmark_feat is None:
            if self.landmark is None:
                raise ValueError(
                    f'{type(self).__name__} was built with landmark=None: '
                    'pass landmark_feat to forward()')
            landmark_feat = self.landmark(frames)
        n, c = landmark_feat.shape[:2]
        if (n != frames.shape[0] or c != self.landmark_channels
                or tuple(landmark_feat.shape[2:]) != tuple(patch_resolution)):
            raise ValueError(
                f'landmark features must be (N={frames.shape[0]}, '
                f'C_l={self.landmark_channels}, {patch_resolution[0]}, '
                f'{patch_resolution[1]}) to match the patch grid, got '
                f'{tuple(landmark_feat.shape)}')
        # (N, C_l, Hp, Wp) -> (N, Hp*Wp, C_l): the 1x1 conv as a linear layer
        return self.landmark_embed(landmark_feat.flatten(2).transpose(1, 2))

    def add_temporal_embedding(self, x: torch.Tensor,
                               num_frames: int) -> torch.Tensor:
        """Hook for the video stage; the image model adds nothing."""
        return x

    def forward_frames(self,
                       frames: torch.Tensor,
                       landmark_feat: Optional[torch.Tensor] = None,
                       num_frames: int = 1) -> list:
        """ViT-MCP over frames folded into the batch.

        Args:
            frames (Tensor): ``(B*T, 3, H, W)``, clip-major.
            landmark_feat (Tensor, optional): ``(B*T, C_l, Hp, Wp)``.
            num_frames (int): T (1 for images).

        Returns:
            list[Tensor]: one output per ``out_indices``, in mmpretrain's
            ``out_type`` format with ``B*T`` leading (``(B*T, D)`` for
            ``cls_token``).
        """
        x, patch_resolution = self.patch_embed(frames)
        a = self.landmark_tokens(frames, landmark_feat, patch_resolution)

        norm0 = self.prompt_norms[0]
        p, t = self.prompters[0](norm0(x), norm0(a), num_frames)
        x = x + p if t is None else x + t + p
        a = p

        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x),
                          dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        x = self.add_temporal_embedding(x, num_frames)
        x = self.pre_norm(x)

        k = self.num_extra_tokens
        outs = []
        for i, layer in enumerate(self.layers):
            if 1 <= i < len(self.prompters):
                p, t = self.prompters[i](self.prompt_norms[i - 1](x[:, k:]),
                                         norm0(a), num_frames)
                a = p
                patches = x[:, k:] + p if t is None else x[:, k:] + t + p
                x = torch.cat((x[:, :k], patches), dim=1)
            if self.with_cp and x.requires_grad and torch.is_grad_enabled():
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return outs

    def forward(self,
                x: torch.Tensor,
                landmark_feat: Optional[torch.Tensor] = None) -> tuple:
        """Image forward.

        Args:
            x (Tensor): ``(B, 3, H, W)``.
            landmark_feat (Tensor, optional): precomputed landmark map
                ``(B, C_l, Hp, Wp)``; the landmark branch is skipped.

        Returns:
            tuple[Tensor]: ``((B, D),)`` for ``out_type='cls_token'``.
        """
        return tuple(self.forward_frames(x, landmark_feat, num_frames=1))


@register_in(MMACTION_MODELS)
class S2DViT(ViTMCP):
    """S2D video backbone (DFER): ViT-MCP + TMAs + temporal embedding.

    Frames are folded into the batch, every block sees ``(B*T, 1+N, D)``; the
    TMA inside each MCP attends over the T frames of every patch position.

    Args:
        num_frames (int): T, fixed by the temporal embedding. Defaults to 16.
        tma (dict): Arguments of every
            :class:`TemporalModelingAdapter` (``ratio`` 0.25, ``num_heads``
            8, ...). With ``frame_offset_bias`` set, ``num_frames`` is filled
            in from this backbone's.
        tma_init (str): ``'release'`` (default): adapters start from
            trunc-normal(0.02) weights and the temporal embedding from
            trunc-normal(0.02), as in the released code. ``'zero'``: every
            TMA outputs 0 and the temporal embedding is 0, so before training
            the video model equals the image model run frame by frame.
        trainable (Sequence[str], optional): see :class:`ViTMCP`. Defaults
            to the release's policy :data:`S2D_RELEASE_TRAINABLE` (blocks,
            patch embed, cls token and position embedding frozen).
        **kwargs: :class:`ViTMCP` arguments.

    Shapes: ``forward(x, landmark_feat=None)`` takes ``x``
    ``(B, 3, T, H, W)`` and ``landmark_feat`` ``(B*T, C_l, Hp, Wp)`` and
    returns per-frame features with T after the channel axis: ``((B, D, T),)``
    for ``out_type='cls_token'`` (``(B, D, T, Hp, Wp)`` for ``featmap``).
    """
    _registry = MMACTION_MODELS

    def __init__(self,
                 num_frames: int = 16,
                 tma: dict = dict(ratio=0.25, num_heads=8),
                 tma_init: str = 'release',
                 trainable: Optional[Sequence[str]] = S2D_RELEASE_TRAINABLE,
                 **kwargs):
        self.num_frames = num_frames
        self.tma_cfg = dict(tma)
        self.tma_cfg.setdefault('tma_init', tma_init)
        if self.tma_cfg.get('frame_offset_bias') is not None:
            self.tma_cfg.setdefault('num_frames', num_frames)
        self.tma_init = self.tma_cfg['tma_init']
        super().__init__(trainable=trainable, **kwargs)

    def _build_extra_parameters(self) -> None:
        self.temporal_embedding = nn.Parameter(
            torch.zeros(1, self.num_frames, self.embed_dims))
        self._init_temporal_embedding()

    def _prompter_cfg(self, prompter: dict, index: int) -> dict:
        cfg = super()._prompter_cfg(prompter, index)
        cfg['tma'] = dict(self.tma_cfg)
        return cfg

    def _init_temporal_embedding(self):
        if self.tma_init == 'zero':
            nn.init.zeros_(self.temporal_embedding)
        else:
            trunc_normal_(self.temporal_embedding, std=0.02)

    def init_own_weights(self) -> None:
        super().init_own_weights()
        self._init_temporal_embedding()

    def frozen_without_effect(self) -> set:
        """Under ``tma_init='zero'``: a frozen temporal embedding (exactly
        0), and every parameter of a TMA whose last up-projection is frozen
        (the adapter then adds exactly 0, whatever its other weights). An
        image-stage checkpoint has none of them, and leaving them as they
        start changes no output, so the frozen-part check does not ask for
        them (e.g. a video stage without TMAs or temporal embedding)."""
        if self.tma_init != 'zero':
            return set()
        frozen = self.frozen_parameter_names()
        exact = {'temporal_embedding'} & frozen
        for i in range(len(self.prompters)):
            tma = f'prompters.{i}.tma.'
            if {tma + 'spatial.fc_up.weight',
                    tma + 'spatial.fc_up.bias'} <= frozen:
                exact.update(n for n in frozen if n.startswith(tma))
        return exact

    def add_temporal_embedding(self, x: torch.Tensor,
                               num_frames: int) -> torch.Tensor:
        """Add ``temporal_embedding[t]`` to every token (cls included) of
        frame t. ``x``: ``(B*T, L, D)``."""
        bt, n, d = x.shape
        x = x.view(bt // num_frames, num_frames, n, d) + \
            self.temporal_embedding[:, :, None, :]
        return x.view(bt, n, d)

    def forward(self,
                x: torch.Tensor,
                landmark_feat: Optional[torch.Tensor] = None) -> tuple:
        """Video forward.

        Args:
            x (Tensor): ``(B, 3, T, H, W)``.
            landmark_feat (Tensor, optional): precomputed landmark map
                ``(B*T, C_l, Hp, Wp)`` (frames clip-major); the landmark
                branch is skipped.

        Returns:
            tuple[Tensor]: ``((B, D, T),)`` for ``out_type='cls_token'``.
        """
        if x.dim() != 5:
            raise ValueError(f'S2DViT expects (B, 3, T, H, W), got '
                             f'{tuple(x.shape)}')
        b, c, t, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(
                f'S2DViT was built for num_frames={self.num_frames} (size of '
                f'temporal_embedding) but got clips of {t} frames')
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        outs = self.forward_frames(frames, landmark_feat, num_frames=t)
        # (B*T, D, ...) -> (B, D, T, ...)
        return tuple(
            o.view(b, t, *o.shape[1:]).transpose(1, 2) if self.out_type !=
            'raw' else o.view(b, t, *o.shape[1:]) for o in outs)
