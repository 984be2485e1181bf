"""Clip transforms S2D adds: clip-consistent image transforms, test crops."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope

import s2d_mm  # noqa: F401
from s2d_mm.datasets import ApplyToFrames, SpatialCrops


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def _clip(t=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return [frame.copy() for _ in range(t)]


RANDAUG = dict(type='RandAugment', policies='timm_increasing', num_policies=4,
               total_level=10, magnitude_level=7, magnitude_std=0.5,
               hparams=dict(pad_val=[124, 116, 104], interpolation='bicubic'))


def test_randaugment_same_for_all_frames():
    t = ApplyToFrames(transforms=[RANDAUG], same_params=True)
    changed = 0
    for seed in range(5):
        np.random.seed(seed)
        clip = _clip()
        out = t(dict(imgs=[f.copy() for f in clip]))['imgs']
        for f in out[1:]:
            np.testing.assert_array_equal(f, out[0])
        changed += int(not np.array_equal(out[0], clip[0]))
    assert changed >= 3  # it does augment
    # successive clips get different draws
    np.random.seed(0)
    a = t(dict(imgs=_clip()))['imgs'][0]
    b = t(dict(imgs=_clip()))['imgs'][0]
    assert not np.array_equal(a, b)


def test_random_erasing_per_frame_or_per_clip():
    erase = dict(type='RandomErasing', erase_prob=1.0, mode='const',
                 fill_color=0, min_area_ratio=0.1, max_area_ratio=0.3)
    np.random.seed(0)
    per_frame = ApplyToFrames(transforms=[erase], same_params=False)
    out = per_frame(dict(imgs=_clip(t=6)))['imgs']
    masks = [tuple(np.argwhere((f == 0).all(-1)).min(0)) for f in out]
    assert len(set(masks)) > 1  # boxes differ between frames (release)
    same = ApplyToFrames(transforms=[erase], same_params=True)
    out = same(dict(imgs=_clip(t=6)))['imgs']
    for f in out[1:]:
        np.testing.assert_array_equal(f, out[0])


@pytest.mark.parametrize('h,w,n,expect', [
    (32, 32, 2, [(0, 0), (0, 0)]),          # square: identical crops
    (32, 48, 2, [(0, 0), (16, 0)]),         # wide: left and right
    (48, 32, 3, [(0, 0), (0, 8), (0, 16)]),  # tall: top, middle, bottom
    (40, 48, 1, [(8, 4)]),                  # centre
])
def test_spatial_crop_offsets(h, w, n, expect):
    assert SpatialCrops(32, n).offsets(h, w) == expect


def test_spatial_crops_layout():
    clip = [np.full((32, 48, 3), t, np.uint8) for t in range(4)]
    for t in range(4):
        clip[t][:, 16:] += 100  # right part brighter
    out = SpatialCrops(32, 2)(dict(imgs=clip))
    assert len(out['imgs']) == 8 and out['img_shape'] == (32, 32)
    # crop-major: crop 0 (left) frames 0..3, then crop 1 (right)
    assert [int(f[0, 0, 0]) for f in out['imgs']] == \
        [0, 1, 2, 3, 100, 101, 102, 103]
    with pytest.raises(ValueError, match='smaller than crop_size'):
        SpatialCrops(64, 2)(dict(imgs=clip))


def test_crop_face_bbox():
    from s2d_mm.datasets import CropFaceBBox
    img = np.arange(40 * 50 * 3, dtype=np.int64).reshape(40, 50, 3)
    out = CropFaceBBox()(dict(img=img.copy(), face_bbox=[10, 5, 20, 30]))
    np.testing.assert_array_equal(out['img'], img[5:35, 10:30])
    out = CropFaceBBox(margin=0.5)(dict(img=img.copy(),
                                        face_bbox=[10, 5, 20, 30]))
    assert out['img_shape'] == (40, 40)  # clipped at the image border
    assert CropFaceBBox()(dict(img=img))['img'] is img
    with pytest.raises(ValueError, match='lies outside'):
        CropFaceBBox()(dict(img=img, face_bbox=[60, 0, 5, 5]))
