"""Static to dynamic: load an image-stage checkpoint into the video model.

The image model (mmpretrain ``ImageClassifier`` + :class:`ViTMCP`) and the
video model (``S2DRecognizer`` + :class:`S2DViT`) name their shared
backbone weights identically, so the backbone transfers key for key. What
the video stage adds (TMAs inside the MCPs, temporal embedding) is the only
part allowed to be missing, and it is named in the log; anything else that
does not fit (missing, unexpected or mis-shaped keys) is refused with the
list (:mod:`s2d_mm.utils.state_dict_fit`). The image classifier ``head.fc``
maps to the video classifier ``cls_head.fc_cls`` when the class counts
agree.

Two ways in:

- in a config, the video backbone's
  ``init_cfg=dict(type='ImageStageInit', checkpoint=IMAGE_CKPT)``
  (:class:`ImageStageInit`, run by ``Runner`` when it initialises the model;
  ``load_from`` / ``resume`` still win over it);
- in Python, :func:`load_static_checkpoint` on the whole recognizer (also
  transfers the classifier).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.registry import WEIGHT_INITIALIZERS

from s2d_mm.utils.state_dict_fit import CheckpointMismatchError, check_state_dict

#: keys of the video model that an image-stage checkpoint cannot have
VIDEO_ONLY_KEYS = re.compile(
    r'^backbone\.(temporal_embedding$|prompters\.\d+\.tma\.)')
#: the same keys inside the video backbone (``S2DViT``)
VIDEO_ONLY_BACKBONE_KEYS = re.compile(
    r'^(temporal_embedding$|prompters\.\d+\.tma\.)')


class StageTransferError(CheckpointMismatchError):
    """The image-stage checkpoint does not fit the video model."""


def _image_state_dict(checkpoint: Union[str, Mapping]) -> Dict:
    from .convert import _unwrap, convert_state_dict, detect_source_kind
    if isinstance(checkpoint, str):
        import argparse

        from s2d_mm.utils import load_checkpoint_file
        name = checkpoint
        checkpoint = load_checkpoint_file(
            checkpoint, map_location='cpu',
            extra_globals=[argparse.Namespace])
    else:
        name = '<state dict>'
    sd = _unwrap(checkpoint, name)
    if not any(k.startswith('backbone.') for k in sd):
        # released naming: convert first (refuses anything unknown)
        if detect_source_kind(sd) not in ('image', 'vit'):
            raise StageTransferError(
                f'{name} is not an image-stage or ViT checkpoint')
        sd, _ = convert_state_dict(sd, filename=name)
    return sd


def _landmark_policy(sd: Dict, model: nn.Module, prefix: str):
    """Drop landmark weights the model has no branch for (its features are
    passed in); return the key patterns of branches that loaded their own
    checkpoint, which the image checkpoint need not carry."""
    from s2d_mm.models.backbones.landmark import landmark_branches_with_checkpoint
    target = model.state_dict()
    for k in [k for k in sd
              if k.startswith(prefix + 'landmark.') and k not in target]:
        del sd[k]
    return ['^' + re.escape(p)
            for p in landmark_branches_with_checkpoint(model)]


@WEIGHT_INITIALIZERS.register_module()
class ImageStageInit:
    """``init_cfg`` of the video backbone: the image-stage weights, strictly.

    ``init_cfg=dict(type='ImageStageInit', checkpoint=IMAGE_CKPT)`` on an
    :class:`~s2d_mm.models.backbones.S2DViT` loads the ``backbone.*``
    weights of an image-stage checkpoint (s2d_mm / mmpretrain, or a released
    SFER / timm ViT one, converted on the fly). Only what the video stage
    adds may be missing (TMAs, temporal embedding: they keep their
    ``tma_init`` initialisation and are named in the log), and the landmark
    branch when it loaded its own checkpoint. Anything else that does not
    fit raises :class:`StageTransferError` with the list, unlike mmengine's
    ``Pretrained``, which loads what fits and warns.

    ``S2DViT.init_weights`` runs it after the submodules' own
    initialisation (as mmengine does for ``Pretrained``).

    Args:
        checkpoint (str): image-stage checkpoint file.
        prefix (str): key prefix of the backbone in the checkpoint.
            Defaults to ``'backbone.'``.
        strict (bool): False: load what fits, warn with the list (partial
            load). Defaults to True.
    """

    def __init__(self, checkpoint: str, prefix: str = 'backbone.',
                 strict: bool = True) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.strict = strict

    def __call__(self, module: nn.Module) -> None:
        sd = _image_state_dict(self.checkpoint)
        sd = OrderedDict((k[len(self.prefix):], v) for k, v in sd.items()
                         if k.startswith(self.prefix))
        if not sd:
            raise StageTransferError(
                f"image-stage checkpoint '{self.checkpoint}' has no "
                f'{self.prefix}* weights')
        own = _landmark_policy(sd, module, '')
        to_load, diff = check_state_dict(
            sd, module, self.checkpoint, strict=self.strict,
            ignore_missing=[VIDEO_ONLY_BACKBONE_KEYS.pattern] + own,
            hint='Only what the video stage adds (TMAs, temporal embedding) '
            'may be missing. init_cfg=dict(type=\'ImageStageInit\', ..., '
            'strict=False) loads what fits.',
            error=StageTransferError)
        module.load_state_dict(to_load, strict=False)
        new = [k for k in diff.ignored_missing
               if VIDEO_ONLY_BACKBONE_KEYS.match(k)]
        print_log(
            f'static->dynamic: {len(to_load)} tensors of the image stage '
            f"loaded from '{self.checkpoint}'; new in the video stage (left "
            f'as initialised): {len(new)} ({_summarise(new)})',
            logger='current')
        if hasattr(module, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info
            update_init_info(
                module,
                init_info=f'ImageStageInit: load from {self.checkpoint}')


def load_static_checkpoint(model: nn.Module,
                           checkpoint: Union[str, Mapping],
                           allow_head_mismatch: bool = False,
                           logger: str = 'current') -> dict:
    """Initialise a video ``S2DRecognizer`` from an image-stage checkpoint.

    Args:
        model (nn.Module): The video recognizer (``backbone`` + ``cls_head``).
        checkpoint (str | Mapping): Path or loaded checkpoint: an s2d_mm
            image-stage checkpoint, or a released SFER / timm ViT one
            (converted on the fly).
        allow_head_mismatch (bool): When the image classifier has another
            number of classes than the video head, keep the video head as
            initialised instead of raising. Defaults to False.
        logger: mmengine logger for the report.

    Returns:
        dict: ``loaded``, ``missing_new`` (video-only keys, expected),
        ``missing`` (other missing keys), ``unexpected`` and ``skipped_head``
        lists of key names.

    Raises:
        StageTransferError: other missing keys, unexpected keys, shape
            mismatches, or a class-count mismatch without
            ``allow_head_mismatch``.
    """
    sd = _image_state_dict(checkpoint)
    source = checkpoint if isinstance(checkpoint, str) else '<state dict>'
    mapped = OrderedDict()
    for key, value in sd.items():
        m = re.match(r'^head\.fc\.(weight|bias)$', key)
        mapped['cls_head.fc_cls.' + m.group(1) if m else key] = value
    target = model.state_dict()
    head_keys = [k for k in mapped if k.startswith('cls_head.fc_cls.')]
    if not allow_head_mismatch and any(
            k in target and mapped[k].shape != target[k].shape
            for k in head_keys):
        shapes = {k: (tuple(mapped[k].shape), tuple(target[k].shape))
                  for k in head_keys if k in target}
        raise StageTransferError(
            'image-stage classifier and video head differ '
            f'(checkpoint vs model shapes {shapes}); pass '
            'allow_head_mismatch=True to keep the video head as '
            'initialised')
    ignore = [VIDEO_ONLY_KEYS.pattern] + _landmark_policy(mapped, model,
                                                          'backbone.')
    if not head_keys:
        ignore.append(r'^cls_head\.')  # an image model without classifier
    try:
        to_load, diff = check_state_dict(
            mapped, model, source, allow_head_mismatch=allow_head_mismatch,
            head_keys=r'^cls_head\.fc_cls\.', ignore_missing=ignore,
            logger=logger)
    except CheckpointMismatchError as err:
        raise StageTransferError(
            f'image-stage checkpoint does not fit the video model: {err}'
        ) from None
    model.load_state_dict(to_load, strict=False)
    missing_new = [k for k in diff.ignored_missing if VIDEO_ONLY_KEYS.match(k)]
    skipped_head = [k for k, _, _ in diff.skipped_head]
    report = dict(
        loaded=sorted(to_load),
        missing_new=missing_new,
        missing=diff.missing,
        unexpected=diff.unexpected,
        skipped_head=skipped_head)
    print_log(
        f'static->dynamic: loaded {len(to_load)} tensors; new in the video '
        f'stage (left as initialised): {len(missing_new)} '
        f'({_summarise(missing_new)}); skipped head: {skipped_head}',
        logger=logger)
    return report


def _summarise(keys: List[str]) -> str:
    groups = sorted({re.sub(r'\.\d+\.', '.*.', k) for k in keys})
    return ', '.join(groups)
