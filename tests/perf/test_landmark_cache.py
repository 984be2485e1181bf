import copy
import os

import numpy as np
import pytest
import torch
from s2d_benchmark.landmark_cache import LandmarkFeatureCache, frame_keys_from_metainfo
from s2d_testing import tiny_landmark_net

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import LandmarkFeatureExtractor

TINY = tiny_landmark_net(feat_size=4, preprocessor=False)


class CountingExtractor(torch.nn.Module):
    """Wraps an extractor and records how many frames it computed."""

    def __init__(self, extractor):
        super().__init__()
        self.inner = extractor
        self.calls = []

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)

    def forward(self, frames):
        self.calls.append(frames.shape[0])
        return self.inner(frames)


@pytest.fixture(scope='module')
def extractor():
    torch.manual_seed(0)
    return LandmarkFeatureExtractor(model=copy.deepcopy(TINY), input_size=64, grid_size=4)


def frames_for(keys, size=48):
    """Deterministic frame content per key, as a dataset would load it."""
    out = []
    for key in keys:
        gen = torch.Generator().manual_seed(sum(map(ord, key)))
        out.append(torch.randn(3, size, size, generator=gen))
    return torch.stack(out)


def test_cache_matches_recomputation_and_computes_only_missing(extractor, tmp_path):
    counting = CountingExtractor(extractor)
    cache = LandmarkFeatureCache(str(tmp_path), counting, rows_per_shard=3)
    keys = [f'vid0/img_{i:05}.jpg' for i in range(4)]
    first = cache.get_or_compute(keys, frames_for(keys))
    assert counting.calls == [4]
    torch.testing.assert_close(first, extractor(frames_for(keys)))
    assert first.shape == (4, 32, 4, 4)

    # Two cached, two new (one of them twice in the batch): 2 frames computed.
    keys2 = keys[2:] + ['vid1/img_00001.jpg', 'vid1/img_00002.jpg', 'vid1/img_00001.jpg']
    second = cache.get_or_compute(keys2, frames_for(keys2))
    assert counting.calls == [4, 2]
    torch.testing.assert_close(second, extractor(frames_for(keys2)))
    assert len(cache) == 6
    # rows_per_shard=3 -> the 6 rows of this rank span two shard files.
    assert sorted(f for f in os.listdir(cache.root) if f.endswith('.npy')) == [
        'r0_s0.npy', 'r0_s1.npy']

    # All cached: the network does not run, content comes from disk.
    third = cache.get_or_compute(keys, torch.zeros(4, 3, 48, 48))
    assert counting.calls == [4, 2]
    torch.testing.assert_close(third, first)

    # A new process over the same folder reads the index back.
    reopened = CountingExtractor(extractor)
    cache2 = LandmarkFeatureCache(str(tmp_path), reopened, rows_per_shard=3)
    assert cache2.root == cache.root and len(cache2) == 6
    torch.testing.assert_close(cache2.get_or_compute(keys2, torch.zeros(5, 3, 48, 48)), second)
    assert reopened.calls == []
    # It appends after the rows already written.
    cache2.get_or_compute(['vid2/img_00001.jpg'], frames_for(['vid2/img_00001.jpg']))
    assert cache2.index['vid2/img_00001.jpg'] == (0, 2, 0)


def test_changed_detector_invalidates(extractor, tmp_path):
    keys = ['a/img_00001.jpg', 'a/img_00002.jpg']
    cache = LandmarkFeatureCache(str(tmp_path), CountingExtractor(extractor))
    old = cache.get_or_compute(keys, frames_for(keys))
    assert LandmarkFeatureCache(str(tmp_path), CountingExtractor(extractor)).root == cache.root

    changed = copy.deepcopy(extractor)
    with torch.no_grad():
        changed.backbone.conv_4.model[0].project.bn.bias.add_(1.0)
    counting = CountingExtractor(changed)
    cache_new = LandmarkFeatureCache(str(tmp_path), counting)
    assert cache_new.root != cache.root and len(cache_new) == 0
    new = cache_new.get_or_compute(keys, frames_for(keys))
    assert counting.calls == [2]
    assert not torch.allclose(new, old)
    torch.testing.assert_close(new, changed(frames_for(keys)))

    # Another grid or another pipeline tag is another cache too.
    tagged = LandmarkFeatureCache(str(tmp_path), CountingExtractor(extractor), extra_key='crop=112')
    assert tagged.root != cache.root
    other_grid = copy.deepcopy(extractor)
    other_grid.grid_size = (2, 2)
    assert LandmarkFeatureCache(str(tmp_path), CountingExtractor(other_grid)).root != cache.root


def test_float16_storage_and_bad_input(extractor, tmp_path):
    cache = LandmarkFeatureCache(str(tmp_path), extractor, dtype='float16')
    keys = ['x/img_00001.jpg']
    out = cache.get_or_compute(keys, frames_for(keys))
    torch.testing.assert_close(out, extractor(frames_for(keys)), atol=2e-3, rtol=1e-3)
    with pytest.raises(ValueError, match='2 keys for 1 frames'):
        cache.get_or_compute(keys * 2, frames_for(keys))
    with pytest.raises(ValueError, match='tabs or line breaks'):
        cache.get_or_compute(['bad\tkey'], frames_for(keys))
    with pytest.raises(ValueError, match='was written with'):
        LandmarkFeatureCache(str(tmp_path), extractor, dtype='float16', rows_per_shard=7)


def test_frame_keys_from_metainfo():
    meta = dict(frame_dir='data/dfew/00001', filename_tmpl='{:05}.jpg', offset=0,
                frame_inds=np.array([1, 2, 3, 5, 6, 7]), num_clips=2, clip_len=3)
    # 2 clips x 2 crops, crops outermost as mmaction2's FormatShape stacks them.
    keys = frame_keys_from_metainfo(meta, num_views=4, clip_len=3)
    assert len(keys) == 12
    assert keys[:3] == [f'data/dfew/00001/{i:05}.jpg|crop0' for i in (1, 2, 3)]
    assert keys[3:6] == [f'data/dfew/00001/{i:05}.jpg|crop0' for i in (5, 6, 7)]
    assert keys[6] == 'data/dfew/00001/00001.jpg|crop1'
    # One crop: plain frame paths; videos: "<file>#<index>".
    assert frame_keys_from_metainfo(dict(meta, offset=1), 2, 3)[0] == 'data/dfew/00001/00002.jpg'
    video = dict(filename='v.mp4', frame_inds=np.arange(4), num_clips=1)
    assert frame_keys_from_metainfo(video, 1, 4) == ['v.mp4#0', 'v.mp4#1', 'v.mp4#2', 'v.mp4#3']
    with pytest.raises(KeyError, match='PackActionInputs'):
        frame_keys_from_metainfo(dict(frame_dir='x'), 1, 4)
