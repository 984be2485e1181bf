"""Static to dynamic: load an image-stage checkpoint into the video model.

The image model (mmpretrain ``ImageClassifier`` + :class:`ViTMCP`) and the
video model (``S2DRecognizer`` + :class:`S2DViT`) name their shared
backbone weights identically, so the backbone transfers key for key. What
the video stage adds (TMAs inside the MCPs, temporal embedding) is reported
as missing-by-design; the image classifier ``head.fc`` maps to the video
classifier ``cls_head.fc_cls`` when the class counts agree.
"""
import re
from typing import Dict, List, Mapping, Union

import torch.nn as nn
from mmengine.logging import print_log

#: keys of the video model that an image-stage checkpoint cannot have
VIDEO_ONLY_KEYS = re.compile(
    r'^backbone\.(temporal_embedding$|prompters\.\d+\.tma\.)')


class StageTransferError(ValueError):
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
    mapped = {}
    for key, value in sd.items():
        m = re.match(r'^head\.fc\.(weight|bias)$', key)
        mapped['cls_head.fc_cls.' + m.group(1) if m else key] = value
    target = model.state_dict()
    skipped_head: List[str] = []
    head_keys = [k for k in mapped if k.startswith('cls_head.fc_cls.')]
    if any(k in target and mapped[k].shape != target[k].shape
           for k in head_keys):
        shapes = {k: (tuple(mapped[k].shape), tuple(target[k].shape))
                  for k in head_keys if k in target}
        if not allow_head_mismatch:
            raise StageTransferError(
                'image-stage classifier and video head differ '
                f'(checkpoint vs model shapes {shapes}); pass '
                'allow_head_mismatch=True to keep the video head as '
                'initialised')
        for k in head_keys:
            skipped_head.append(k)
            del mapped[k]
    wrong = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(target[k].shape)}'
        for k, v in mapped.items() if k in target and v.shape != target[k].shape
    ]
    # a landmark branch the video model does not have (features passed in)
    for k in [k for k in mapped
              if k.startswith('backbone.landmark.') and k not in target]:
        del mapped[k]
    unexpected = sorted(k for k in mapped if k not in target)
    missing_all = [k for k in target if k not in mapped]
    missing_new = [k for k in missing_all if VIDEO_ONLY_KEYS.match(k)]
    missing = [
        k for k in missing_all
        if not VIDEO_ONLY_KEYS.match(k) and k not in skipped_head
        and not k.startswith('backbone.landmark.')
        and not k.startswith('data_preprocessor.')
    ]
    if not head_keys:
        missing = [k for k in missing if not k.startswith('cls_head.')]
    if wrong or unexpected or missing:
        raise StageTransferError(
            'image-stage checkpoint does not fit the video model: '
            f'missing {missing}, unexpected {unexpected}, shape mismatches '
            f'{wrong}')
    model.load_state_dict(mapped, strict=False)
    report = dict(
        loaded=sorted(mapped),
        missing_new=missing_new,
        missing=missing,
        unexpected=unexpected,
        skipped_head=skipped_head)
    print_log(
        f'static->dynamic: loaded {len(mapped)} tensors; new in the video '
        f'stage (left as initialised): {len(missing_new)} '
        f'({_summarise(missing_new)}); skipped head: {skipped_head}',
        logger=logger)
    return report


def _summarise(keys: List[str]) -> str:
    groups = sorted({re.sub(r'\.\d+\.', '.*.', k) for k in keys})
    return ', '.join(groups)
