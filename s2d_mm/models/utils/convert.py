"""Convert released S2D / timm / MAE checkpoints to s2d_mm checkpoints.

Supported sources (each as ``.pth``/``.pth.tar``/``.pt`` holding ``model``,
``model_state_dict`` or ``state_dict``, a bare state dict, or
``.safetensors``):

- ``video``: a released S2D (DFER) model: ``prompt_blocks.*.TMA.*``,
  ``temporal_embedding``, ``ln_post``, ``head.fc_cls``. Becomes an
  ``S2DRecognizer`` checkpoint.
- ``image``: the released image-stage (SFER) model, e.g.
  ``pretrain-AffectNet-7.pth``: ViT + MCP keys in the same naming, ``norm.*``
  for the final norm, classifiers ``head`` and ``weak_head`` and the embedded
  landmark network (``landmark*``). Becomes an mmpretrain
  ``ImageClassifier`` checkpoint with ``ViTMCP``; ``weak_head`` and the
  landmark keys are dropped and listed in ``meta``.
- ``vit``: a plain timm / MAE ViT (``blocks.*``, ``patch_embed.proj``,
  ``norm`` ...); MAE pre-training's decoder and mask token are dropped.
  Becomes an ``ImageClassifier`` checkpoint whose MCP weights are missing
  (they are new).
- ``landmark``: a released MobileFaceNet checkpoint, converted by
  :func:`s2d_mm.models.backbones.mobilefacenet.convert_mobilefacenet_state_dict`
  and checked against the released architecture
  (:data:`RELEASED_MOBILEFACENET`, or the landmark model it is meant for).

The architecture is read from the weights (depth, width, MLP width, patch,
input size, frames, classes, landmark channels, MCP width, TMA ratio,
prompt type). Head counts cannot be read from weights: they default to
``width // 64`` (ViT-S/B/L) and 8 for the TMA attention, and can be given
(``overrides``), e.g. from the release's model-argument JSON.

Every key is accounted for: the converted state dict is checked against a
model built from the inferred config (the landmark network: the model it
will feed); unknown, missing (other than the new modules of a ``vit``
source) and mis-shaped keys raise :class:`CheckpointConversionError` with
the list (:mod:`s2d_mm.utils.state_dict_fit`).
"""
import argparse
import json
import math
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from s2d_mm.utils import load_checkpoint_file
from s2d_mm.utils.state_dict_fit import check_state_dict

SOURCE_KINDS = ('video', 'image', 'vit', 'landmark')
_WRAPPER_KEYS = ('model', 'model_state_dict', 'state_dict', 'module')

# Release/timm name -> s2d_mm name, for keys inside the backbone.
_BACKBONE_RULES = [
    (r'^cls_token$', 'cls_token'),
    (r'^pos_embed$', 'pos_embed'),
    (r'^patch_embed\.proj\.(weight|bias)$', r'patch_embed.projection.\1'),
    (r'^blocks\.(\d+)\.norm1\.(weight|bias)$', r'layers.\1.ln1.\2'),
    (r'^blocks\.(\d+)\.norm2\.(weight|bias)$', r'layers.\1.ln2.\2'),
    (r'^blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)$',
     r'layers.\1.attn.\2.\3'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$', r'layers.\1.ffn.layers.0.0.\2'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$', r'layers.\1.ffn.layers.1.\2'),
    (r'^(?:ln_post|norm)\.(weight|bias)$', r'ln1.\1'),
    (r'^temporal_embedding$', 'temporal_embedding'),
    (r'^patch_embed_prompt\.proj\.(weight|bias)$', r'landmark_embed.\1'),
    (r'^prompt_norms\.(\d+)\.(weight|bias)$', r'prompt_norms.\1.\2'),
    (r'^prompt_blocks\.(\d+)\.conv0_0\.(weight|bias)$',
     r'prompters.\1.proj_image.\2'),
    (r'^prompt_blocks\.(\d+)\.conv0_1\.(weight|bias)$',
     r'prompters.\1.proj_landmark.\2'),
    (r'^prompt_blocks\.(\d+)\.conv1x1\.(weight|bias)$',
     r'prompters.\1.proj_out.\2'),
    (r'^prompt_blocks\.(\d+)\.fovea\.smooth$', r'prompters.\1.fovea_scale'),
    (r'^prompt_blocks\.(\d+)\.TMA\.T_Adapter\.D_fc1\.(weight|bias)$',
     r'prompters.\1.tma.temporal.fc_down.\2'),
    (r'^prompt_blocks\.(\d+)\.TMA\.T_Adapter\.D_fc2\.(weight|bias)$',
     r'prompters.\1.tma.temporal.fc_up.\2'),
    (r'^prompt_blocks\.(\d+)\.TMA\.T_Adapter\.attn\.(qkv|proj)\.(weight|bias)$',
     r'prompters.\1.tma.temporal.attn.\2.\3'),
    (r'^prompt_blocks\.(\d+)\.TMA\.norm\.(weight|bias)$',
     r'prompters.\1.tma.norm.\2'),
    (r'^prompt_blocks\.(\d+)\.TMA\.S_Adapter\.D_fc1\.(weight|bias)$',
     r'prompters.\1.tma.spatial.fc_down.\2'),
    (r'^prompt_blocks\.(\d+)\.TMA\.S_Adapter\.D_fc2\.(weight|bias)$',
     r'prompters.\1.tma.spatial.fc_up.\2'),
]
# 1x1 convolutions of the release that are linear layers here
_SQUEEZE = re.compile(r'(landmark_embed|proj_image|proj_landmark|proj_out)'
                      r'\.weight$')
# keys of known sources that the converted model has no place for
_DROPPED = [
    (re.compile(r'^weak_head\.'), 'auxiliary classifier of the image stage'),
    (re.compile(r'landmark'), 'landmark network embedded in the checkpoint '
     '(configure the landmark branch separately)'),
    (re.compile(r'^(decoder_|decoder\.|mask_token$)'),
     'MAE pre-training decoder'),
]


#: the landmark network of the release as an mmpose model (the defaults of
#: MobileFaceNet / MobileFaceNetHead, as
#: ``configs/_base_/models/landmark_mobilefacenet.py``)
RELEASED_MOBILEFACENET = dict(
    type='TopdownPoseEstimator',
    backbone=dict(type='MobileFaceNet'),
    head=dict(type='MobileFaceNetHead'))


class CheckpointConversionError(ValueError):
    """The checkpoint does not fit a supported source layout."""


def _unwrap(checkpoint: Mapping, filename: str = '<checkpoint>') -> Dict:
    """Find the state dict inside a loaded checkpoint and strip ``module.``.
    """
    state = checkpoint
    for _ in range(3):
        if not isinstance(state, Mapping):
            break
        if any(isinstance(v, torch.Tensor) for v in state.values()):
            break
        for key in _WRAPPER_KEYS:
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
        else:
            raise CheckpointConversionError(
                f'{filename}: no state dict found; top-level keys are '
                f'{sorted(map(str, state))}, expected a state dict or one of '
                f'{_WRAPPER_KEYS}')
    if not isinstance(state, Mapping):
        raise CheckpointConversionError(f'{filename}: not a state dict')
    out = OrderedDict()
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        out[re.sub(r'^module\.', '', k)] = v
    return out


def detect_source_kind(state_dict: Mapping) -> str:
    """``'video'``, ``'image'``, ``'vit'`` or ``'landmark'`` from key names.
    """
    keys = list(state_dict)
    if any(k.startswith(('backbone.', 'cls_head.')) for k in keys):
        raise CheckpointConversionError(
            'the checkpoint is already in s2d_mm layout (keys start with '
            '"backbone."/"cls_head."); load it directly')
    if any('.TMA.' in k for k in keys) or 'temporal_embedding' in keys:
        return 'video'
    if any(k.startswith(('prompt_blocks.', 'patch_embed_prompt.'))
           for k in keys):
        return 'image'
    if any(k.startswith('blocks.') for k in keys):
        return 'vit'
    if any(k.startswith(('conv1.', 'conv2_dw.', 'conv_23.', 'conv_4.',
                         'output_layer.')) for k in keys):
        return 'landmark'
    raise CheckpointConversionError(
        'cannot tell what this checkpoint is: no ViT ("blocks.*"), S2D '
        '("prompt_blocks.*") or MobileFaceNet ("conv1.*") keys; first keys: '
        f'{keys[:10]}')


def infer_arch(state_dict: Mapping, kind: str,
               overrides: Optional[dict] = None) -> dict:
    """Architecture of a released/timm state dict (keys in release naming).

    Returns a dict with ``embed_dims, num_layers, num_heads,
    feedforward_channels, patch_size, img_size, qkv_bias`` and, where
    present, ``landmark_channels, prompt_type, hidden_dims, num_frames,
    tma_ratio, tma_heads, num_classes``. ``overrides`` (release argument
    names such as ``num_heads``, ``embed_dim``, ``depth`` are accepted)
    replace inferred values; a contradiction with the weights is an error.
    """
    sd = state_dict
    arch = _infer_vit_arch(sd)
    if kind in ('video', 'image'):
        arch.update(_infer_prompt_arch(sd, arch['num_layers']))
    if kind == 'video':
        arch['num_frames'] = _need(sd, 'temporal_embedding').shape[1]
        hidden = _need(sd,
                       'prompt_blocks.0.TMA.T_Adapter.D_fc1.weight').shape[0]
        arch['tma_ratio'] = hidden / arch['embed_dims']
        arch['tma_heads'] = 8
        arch['num_classes'] = _need(sd, 'head.fc_cls.weight').shape[0]
    elif 'head.weight' in sd:
        arch['num_classes'] = sd['head.weight'].shape[0]
    _apply_arch_overrides(arch, dict(overrides or {}))
    if arch['embed_dims'] % arch['num_heads']:
        raise CheckpointConversionError(
            f"num_heads={arch['num_heads']} does not divide the width "
            f"{arch['embed_dims']}")
    return arch


def _need(sd: Mapping, key: str):
    if key not in sd:
        raise CheckpointConversionError(f'missing key {key!r} needed to '
                                        'infer the architecture')
    return sd[key]


def _infer_vit_arch(sd: Mapping) -> dict:
    """The plain ViT part of :func:`infer_arch`."""
    patch_w = _need(sd, 'patch_embed.proj.weight')  # (D, 3, p, p)
    embed_dims = patch_w.shape[0]
    depth = 1 + max(int(m.group(1)) for k in sd
                    for m in [re.match(r'blocks\.(\d+)\.', k)] if m)
    pos = _need(sd, 'pos_embed')
    grid = math.isqrt(pos.shape[1] - 1)
    if grid * grid != pos.shape[1] - 1:
        raise CheckpointConversionError(
            f'pos_embed has {pos.shape[1]} tokens: not 1 + a square grid')
    return dict(
        embed_dims=embed_dims,
        num_layers=depth,
        num_heads=max(1, embed_dims // 64),
        feedforward_channels=_need(sd, 'blocks.0.mlp.fc1.weight').shape[0],
        patch_size=patch_w.shape[-1],
        img_size=grid * patch_w.shape[-1],
        in_channels=patch_w.shape[1],
        qkv_bias='blocks.0.attn.qkv.bias' in sd)


def _infer_prompt_arch(sd: Mapping, depth: int) -> dict:
    """Landmark projection and MCPs (image and video checkpoints)."""
    landmark_channels = _need(sd, 'patch_embed_prompt.proj.weight').shape[1]
    num_prompts = 1 + max(
        int(m.group(1)) for k in sd
        for m in [re.match(r'prompt_blocks\.(\d+)\.', k)] if m)
    if num_prompts not in (1, depth):
        raise CheckpointConversionError(
            f'{num_prompts} prompt blocks for {depth} ViT blocks: '
            'neither shallow (1) nor deep (one per block)')
    return dict(
        landmark_channels=landmark_channels,
        prompt_type='deep' if num_prompts == depth and depth > 1 else
        'shallow',
        hidden_dims=_need(sd, 'prompt_blocks.0.conv0_0.weight').shape[0])


#: release argument names accepted as :func:`infer_arch` overrides
_ARCH_ALIASES = dict(
    embed_dim='embed_dims', depth='num_layers', hidden_dim='hidden_dims',
    in_chans_l='landmark_channels', adapter_scale='tma_ratio',
    in_chans='in_channels', mlp_ratio=None, qkv_bias='qkv_bias')
#: overrides that must agree with what the weights say
_ARCH_CHECKED = {
    'embed_dims', 'num_layers', 'patch_size', 'img_size',
    'landmark_channels', 'prompt_type', 'hidden_dims', 'num_frames',
    'tma_ratio', 'num_classes', 'in_channels', 'feedforward_channels'
}


def _apply_arch_overrides(arch: dict, overrides: dict) -> None:
    embed_dims = arch['embed_dims']
    for key, value in overrides.items():
        name = _ARCH_ALIASES.get(key, key)
        if name is None or value is None:
            continue
        if key == 'mlp_ratio':
            name, value = 'feedforward_channels', int(embed_dims * value)
        if name == 'prompt_type' and arch['num_layers'] == 1:
            pass  # one block: deep and shallow have the same weights
        elif name in _ARCH_CHECKED and name in arch and \
                arch[name] != value and not (
                    isinstance(value, float)
                    and math.isclose(arch[name], value)):
            raise CheckpointConversionError(
                f'given {key}={value!r} but the weights say '
                f'{name}={arch[name]!r}')
        if name in arch or name in ('num_heads', 'tma_heads',
                                    'head_dropout_ratio', 'num_classes'):
            arch[name] = value


def _vit_arch_dict(arch: dict) -> dict:
    return dict(
        embed_dims=arch['embed_dims'],
        num_layers=arch['num_layers'],
        num_heads=arch['num_heads'],
        feedforward_channels=arch['feedforward_channels'])


def model_config(arch: dict, kind: str) -> dict:
    """The s2d_mm model config matching ``infer_arch``'s result."""
    backbone = dict(
        arch=_vit_arch_dict(arch),
        img_size=arch['img_size'],
        patch_size=arch['patch_size'],
        qkv_bias=arch['qkv_bias'],
        landmark=None,
        landmark_channels=arch.get('landmark_channels', 128),
        prompt_type=arch.get('prompt_type', 'deep'),
        prompter=dict(hidden_dims=arch.get('hidden_dims', 8)))
    if arch.get('in_channels', 3) != 3:
        backbone['in_channels'] = arch['in_channels']
    if kind == 'video':
        backbone.update(
            type='S2DViT',
            num_frames=arch['num_frames'],
            tma=dict(ratio=arch['tma_ratio'], num_heads=arch['tma_heads']))
        return dict(
            type='S2DRecognizer',
            backbone=backbone,
            cls_head=dict(
                type='S2DHead',
                num_classes=arch['num_classes'],
                in_channels=arch['embed_dims'],
                dropout_ratio=arch.get('head_dropout_ratio', 0.5),
                average_clips='prob'),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                format_shape='NCTHW'))
    backbone.update(type='ViTMCP')
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=None,
        head=dict(
            type='LinearClsHead',
            num_classes=arch.get('num_classes', 7),
            in_channels=arch['embed_dims'],
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            to_rgb=True))


def _rename(state_dict: Mapping, kind: str) -> Tuple[Dict, List, List]:
    """Release names -> s2d_mm names. Returns converted, dropped, unknown."""
    rules = [(re.compile(p), r) for p, r in _BACKBONE_RULES]
    out, dropped, unknown = OrderedDict(), [], []
    for key, value in state_dict.items():
        if kind == 'video' and key.startswith('head.fc_cls.'):
            out['cls_head.' + key[len('head.'):]] = value
            continue
        if kind != 'video' and re.match(r'^head\.(weight|bias)$', key):
            out['head.fc.' + key[len('head.'):]] = value
            continue
        for pattern, repl in rules:
            if pattern.match(key):
                new = 'backbone.' + pattern.sub(repl, key)
                if _SQUEEZE.search(new):
                    if value.dim() == 4:
                        if value.shape[2:] != (1, 1):
                            raise CheckpointConversionError(
                                f'{key}: expected a 1x1 kernel, got '
                                f'{tuple(value.shape)}')
                        value = value.flatten(1)
                out[new] = value
                break
        else:
            reason = next((r for p, r in _DROPPED if p.search(key)), None)
            if reason is not None:
                dropped.append((key, reason))
            else:
                unknown.append(key)
    return out, dropped, unknown


def convert_state_dict(checkpoint: Mapping,
                       overrides: Optional[dict] = None,
                       filename: str = '<checkpoint>',
                       landmark_model=None) -> Tuple[Dict, dict]:
    """Convert a loaded checkpoint.

    Args:
        checkpoint (Mapping): As loaded (wrapped or bare state dict).
        overrides (dict, optional): Architecture values that cannot be (or
            should not be) read from the weights, e.g. ``num_heads``;
            release argument names accepted.
        filename (str): For error messages.
        landmark_model (str | dict, optional): For a ``landmark`` source,
            the mmpose model it will feed (config path or model dict);
            default :data:`RELEASED_MOBILEFACENET`.

    Returns:
        tuple: ``(state_dict, meta)``; ``meta`` has ``source_kind``,
        ``arch``, ``model`` (the matching model config), ``dropped_keys``.

    Raises:
        CheckpointConversionError: unknown, missing or mis-shaped keys.
    """
    sd = _unwrap(checkpoint, filename)
    kind = detect_source_kind(sd)
    if kind == 'landmark':
        from s2d_mm.models.backbones import mobilefacenet
        converted = mobilefacenet.convert_mobilefacenet_state_dict(sd)
        _check_landmark(converted, landmark_model, filename)
        return converted, dict(source_kind=kind, dropped_keys=[])
    arch = infer_arch(sd, kind, overrides)
    converted, dropped, unknown = _rename(sd, kind)
    if any(k.startswith('fc_norm.') for k in unknown):
        raise CheckpointConversionError(
            f'{filename}: has fc_norm.* (a global-average-pooling ViT, e.g. '
            'an MAE fine-tune); S2D classifies the cls token after a final '
            'norm, so convert the pre-trained checkpoint (with norm.*) '
            f'instead. Unknown keys: {unknown}')
    if unknown:
        raise CheckpointConversionError(
            f'{filename}: {len(unknown)} unknown key(s) for a {kind!r} '
            f'checkpoint: {unknown}')
    cfg = model_config(arch, kind)
    _check_against_model(converted, cfg, kind, filename)
    meta = dict(
        source_kind=kind,
        arch=arch,
        model=cfg,
        dropped_keys=[f'{k} ({why})' for k, why in dropped])
    return converted, meta


def _build(cfg: dict, kind: str):
    from mmengine.registry import DefaultScope

    import s2d_mm  # noqa: F401  (registers the modules)
    if kind == 'video':
        from mmaction.registry import MODELS
        scope = 'mmaction'
    else:
        from mmpretrain.registry import MODELS
        scope = 'mmpretrain'
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def _check_against_model(converted: Mapping, cfg: dict, kind: str,
                         filename: str) -> None:
    """Every model key present with its shape; nothing extra."""
    with torch.device('meta'):
        model = _build(cfg, kind)
    # a plain ViT has none of what S2D adds, and maybe no classifier
    new = (r'^(backbone\.(landmark_embed|prompt_norms|prompters)\.|head\.)'
           if kind == 'vit' else None)
    check_state_dict(
        converted, model, f'{filename} ({kind} checkpoint)',
        ignore_missing=new, error=CheckpointConversionError,
        hint='(compared with the architecture inferred from the weights)')


def _check_landmark(converted: Mapping, landmark_model, filename: str):
    """The converted landmark network against the model it will feed."""
    from mmengine.registry import DefaultScope

    from s2d_mm.models.backbones.landmark import load_landmark_model_cfg
    from s2d_mm.registry import MMPOSE_MODELS
    model_cfg, _ = load_landmark_model_cfg(
        landmark_model or RELEASED_MOBILEFACENET)
    with DefaultScope.overwrite_default_scope('mmpose'), \
            torch.device('meta'):
        model = MMPOSE_MODELS.build(model_cfg)
    headless = not any(k.startswith('head.') for k in converted)
    check_state_dict(
        converted, model, f'{filename} (landmark checkpoint)',
        # a backbone-only file is what LandmarkFeatureExtractor keeps
        ignore_missing=r'^head\.' if headless else None,
        error=CheckpointConversionError,
        hint='(compared with the released MobileFaceNet; another landmark '
        'network: --landmark-config)' if landmark_model is None else
        f'(compared with the landmark model {landmark_model!r})')


def load_source(filename: str):
    """Load a source checkpoint safely (``weights_only=True``; the only
    extra object allowed is ``argparse.Namespace``, which the release's
    training checkpoints carry)."""
    return load_checkpoint_file(
        filename, map_location='cpu', extra_globals=[argparse.Namespace])


def format_config(meta: dict, checkpoint_path: Optional[str] = None) -> str:
    """Python config text for the converted checkpoint."""
    kind = meta['source_kind']
    scope = 'mmaction' if kind == 'video' else 'mmpretrain'
    lines = [
        f'# Written by tools/convert_official_s2d.py from a {kind!r} '
        'checkpoint.',
        '# The landmark branch is not part of the checkpoint: with '
        'landmark=None,',
        '# pass precomputed features to the backbone, or set it, e.g. '
        '--landmark-config.',
        "custom_imports = dict(imports=['s2d_mm'], "
        'allow_failed_imports=False)',
        f"default_scope = '{scope}'",
        f"model = {_pformat(meta['model'])}",
    ]
    if kind == 'video':
        arch = meta['arch']
        lines.append('# the release\'s test protocol (configs/_base_/datasets/'
                     's2d_video_pipelines.py): first and last window x 2 '
                     'crops')
        lines.append('test_pipeline = ' + repr(
            release_test_pipeline(arch['num_frames'], arch['img_size'])))
    if checkpoint_path:
        lines.append(f'load_from = {checkpoint_path!r}')
    return '\n'.join(lines) + '\n'


def release_test_pipeline(num_frames: int, img_size: int) -> list:
    """The released scripts' test views for a written video config, so that
    ``tools/infer.py`` and ``init_model`` can run it as it is: the first and
    last ``num_frames`` frames, resized to ``img_size`` without keeping the
    aspect ratio, two spatial crops."""
    return [
        dict(type='SampleFrames', clip_len=num_frames, frame_interval=1,
             num_clips=2, test_mode=True, out_of_bound_opt='repeat_last'),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
        dict(type='SpatialCrops', crop_size=img_size, num_crops=2),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]


def _pformat(obj, indent=0) -> str:
    pad = ' ' * (indent + 4)
    if isinstance(obj, dict):
        if not obj:
            return 'dict()'
        items = [f'{pad}{k}={_pformat(v, indent + 4)}' for k, v in obj.items()]
        return 'dict(\n' + ',\n'.join(items) + ')'
    return repr(obj)


def landmark_branch_config(model_cfg: str,
                           checkpoint: Optional[str] = None,
                           out_index: int = 5,
                           grid: Optional[int] = None) -> dict:
    """``LandmarkFeatureExtractor`` config for a written model config
    (``out_index`` 5 is MobileFaceNet's ``conv_4``, the release's tap)."""
    cfg = dict(
        type='LandmarkFeatureExtractor',
        model=osp.abspath(model_cfg),
        checkpoint=osp.abspath(checkpoint) if checkpoint else None,
        out_indices=(out_index, ))
    if grid is not None:
        cfg['grid_size'] = (grid, grid)
    return cfg


def convert_file(src: str,
                 dst: str,
                 overrides: Optional[dict] = None,
                 out_config: Optional[str] = None,
                 landmark: Optional[dict] = None) -> dict:
    """Convert ``src`` and save ``{'state_dict', 'meta'}`` to ``dst``;
    optionally write the matching config, with ``landmark`` as its landmark
    branch (``None``: features passed in). Returns ``meta``."""
    checkpoint = load_source(src)
    state_dict, meta = convert_state_dict(
        checkpoint, overrides, src,
        landmark_model=(landmark or {}).get('model'))
    meta = dict(meta, converted_from=osp.basename(src))
    if landmark is not None and 'model' in meta:
        landmark = dict(landmark)
        arch = meta['arch']
        grid = arch['img_size'] // arch['patch_size']
        landmark.setdefault('grid_size', (grid, grid))
        meta['model']['backbone']['landmark'] = landmark
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    if out_config and meta['source_kind'] != 'landmark':
        with open(out_config, 'w') as f:
            f.write(format_config(meta, osp.abspath(dst)))
    return meta


def read_overrides(path: Optional[str]) -> dict:
    """Release-style model arguments from a JSON file (or ``{}``)."""
    if not path:
        return {}
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise CheckpointConversionError(f'{path}: expected a JSON object')
    return data
