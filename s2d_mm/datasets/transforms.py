"""The few clip transforms S2D needs that mmaction2/mmpretrain lack.

Everything else in the S2D pipelines is a stock transform:
``SampleFrames`` (16 consecutive frames, ``out_of_bound_opt='repeat_last'``
pads short clips with their last frame; in test mode with ``num_clips=2``
its offsets are ``0`` and ``N - 16``, i.e. the first and last 16 frames),
``RawFrameDecode`` / ``DecordInit`` + ``DecordDecode``, ``Resize``,
``RandomResizedCrop`` and ``Flip`` (one draw per clip), ``FormatShape`` and
``PackActionInputs``.
"""
import random
from typing import Dict, List, Union

import numpy as np
from mmaction.datasets.transforms import SampleFrames
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

from ..registry import MMACTION_TRANSFORMS, MMPRETRAIN_TRANSFORMS


@MMACTION_TRANSFORMS.register_module()
class ApplyToFrames(BaseTransform):
    """Apply image transforms (mmpretrain/mmcv style, key ``img``) to every
    frame of a clip (key ``imgs``).

    With ``same_params=True`` the random state is replayed for each frame,
    so every frame gets the same random draw (clip-consistent RandAugment:
    same ops, same magnitudes, same signs); with ``False`` each frame draws
    its own (the released code's per-frame random erasing).

    Args:
        transforms (list[dict]): image transforms, built from the registry of
            ``scope`` (e.g. mmpretrain's ``RandAugment`` / ``RandomErasing``).
        same_params (bool): one random draw for the whole clip.
        scope (str): default scope the transforms are built in.

    Example::

        dict(type='ApplyToFrames', same_params=True,
             transforms=[dict(type='RandAugment', policies='timm_increasing',
                              num_policies=4, magnitude_level=7,
                              magnitude_std=0.5, total_level=10)])
    """

    def __init__(self,
                 transforms: List[Union[dict, BaseTransform]],
                 same_params: bool = True,
                 scope: str = 'mmpretrain') -> None:
        from mmengine.registry import DefaultScope
        self.same_params = same_params
        self.transforms = []
        for t in transforms:
            if isinstance(t, dict):
                with DefaultScope.overwrite_default_scope(scope):
                    t = MMENGINE_TRANSFORMS.build(t)
            self.transforms.append(t)

    def _one(self, img: np.ndarray) -> np.ndarray:
        results = dict(img=img, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2])
        for t in self.transforms:
            results = t(results)
            if results is None:
                raise RuntimeError(f'{t!r} returned None inside ApplyToFrames')
        return results['img']

    def transform(self, results: Dict) -> Dict:
        imgs = results['imgs']
        if self.same_params:
            np_state = np.random.get_state()
            py_state = random.getstate()
        out = []
        for img in imgs:
            if self.same_params:
                np.random.set_state(np_state)
                random.setstate(py_state)
            out.append(self._one(img))
        results['imgs'] = out
        results['img_shape'] = out[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(same_params={self.same_params}, '
                f'transforms={self.transforms})')


@MMACTION_TRANSFORMS.register_module()
class SpatialCrops(BaseTransform):
    """``num_crops`` crops of ``crop_size`` evenly spaced along the longer
    side of the frames and centred on the shorter side: the released code's
    test-time spatial views (``test_num_crop``). Frames must be at least
    ``crop_size`` on both sides (resize first).

    Output frames are crop-major (all frames of crop 0, then crop 1, ...),
    the layout ``FormatShape('NCTHW')`` folds into ``num_crops * num_clips``
    views, like mmaction2's ``ThreeCrop``. With 224x224 frames and
    ``crop_size=224`` the crops are identical (as in the release).
    """

    def __init__(self, crop_size: int = 224, num_crops: int = 2) -> None:
        if num_crops < 1:
            raise ValueError(f'num_crops must be >= 1, got {num_crops}')
        self.crop_size = crop_size
        self.num_crops = num_crops

    def offsets(self, img_h: int, img_w: int) -> List[tuple]:
        c = self.crop_size
        if img_h < c or img_w < c:
            raise ValueError(f'SpatialCrops: frames {img_h}x{img_w} are '
                             f'smaller than crop_size {c}; resize first')
        along_w = img_w >= img_h
        long_len = img_w if along_w else img_h
        short_off = ((img_h if along_w else img_w) - c) // 2
        if self.num_crops == 1:
            steps = [(long_len - c) // 2]
        else:
            step = (long_len - c) / (self.num_crops - 1)
            steps = [int(round(step * i)) for i in range(self.num_crops)]
        return [(s, short_off) if along_w else (short_off, s) for s in steps]

    def transform(self, results: Dict) -> Dict:
        imgs = results['imgs']
        h, w = imgs[0].shape[:2]
        c = self.crop_size
        out, boxes = [], []
        for x, y in self.offsets(h, w):
            out.extend(img[y:y + c, x:x + c] for img in imgs)
            boxes.extend([[x, y, x + c, y + c]] * len(imgs))
        results['imgs'] = out
        results['crop_bbox'] = np.array(boxes)
        results['img_shape'] = (c, c)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'num_crops={self.num_crops})')


@MMACTION_TRANSFORMS.register_module()
class ReleaseSampleFrames(SampleFrames):
    """``SampleFrames`` with the released code's training window.

    For one training clip of ``clip_len`` consecutive frames, mmaction2's
    ``SampleFrames`` draws the start from ``0 .. N - clip_len``; the release
    draws its end index from ``[clip_len, N)`` and so never uses the start
    ``N - clip_len`` (the last frame is never sampled; docs/released_code.md
    §7, item 37). Clips of at most ``clip_len`` frames are read whole and
    padded with the last frame by both. Use this only to reproduce the
    release exactly; test mode is unchanged.
    """

    def __init__(self, clip_len: int, frame_interval: int = 1,
                 **kwargs) -> None:
        kwargs.setdefault('out_of_bound_opt', 'repeat_last')
        super().__init__(clip_len, frame_interval=frame_interval, **kwargs)
        if self.num_clips != 1 or self.frame_interval != 1 or \
                self.keep_tail_frames:
            raise ValueError('ReleaseSampleFrames reproduces the release '
                             'only for num_clips=1, frame_interval=1')

    def _get_train_clips(self, num_frames: int,
                         ori_clip_len: float) -> np.ndarray:
        if num_frames > ori_clip_len:
            return np.random.randint(num_frames - ori_clip_len, size=1)
        return np.zeros((1, ), dtype=np.int64)


@MMPRETRAIN_TRANSFORMS.register_module()
class CropFaceBBox(BaseTransform):
    """Crop ``img`` to the sample's ``face_bbox`` ``(x, y, w, h)``.

    AffectNet lists a face box for every image; use this after
    ``LoadImageFromFile`` when your copy of ``Manually_Annotated_Images``
    holds the full images rather than face crops. ``margin`` enlarges the
    box by that fraction of its size on each side (clipped to the image).
    Samples without ``face_bbox`` pass unchanged.
    """

    def __init__(self, margin: float = 0.0) -> None:
        self.margin = margin

    def transform(self, results: Dict) -> Dict:
        box = results.get('face_bbox')
        if box is None:
            return results
        img = results['img']
        h, w = img.shape[:2]
        x, y, bw, bh = (float(v) for v in box)
        x0 = int(max(0, np.floor(x - self.margin * bw)))
        y0 = int(max(0, np.floor(y - self.margin * bh)))
        x1 = int(min(w, np.ceil(x + bw + self.margin * bw)))
        y1 = int(min(h, np.ceil(y + bh + self.margin * bh)))
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f'face_bbox {box} lies outside the {w}x{h} '
                             f'image {results.get("img_path", "")}')
        results['img'] = img[y0:y1, x0:x1]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(margin={self.margin})'
