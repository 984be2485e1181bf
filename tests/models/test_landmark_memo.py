"""FrameMemo and LandmarkFeatureExtractor(memo_frames=...): a frame seen
before skips the network, and the features are those of the network."""
import copy

import pytest
import torch
from s2d_testing import tiny_landmark_net

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import LandmarkFeatureExtractor
from s2d_mm.models.backbones.landmark_memo import FrameMemo, frame_digests

TINY = tiny_landmark_net(feat_size=4, preprocessor=False)


def _extractor(**kwargs):
    torch.manual_seed(0)
    return LandmarkFeatureExtractor(model=copy.deepcopy(TINY), input_size=64,
                                    grid_size=4, **kwargs)


def test_digest_sees_every_bit_shape_and_dtype():
    x = torch.randn(3, 3, 8, 8)
    y = x.clone()
    y.view(-1).view(torch.int32)[5] ^= 1  # one bit of frame 0
    dx, dy = frame_digests(x), frame_digests(y)
    assert dx[1:] == dy[1:] and dx[0] != dy[0]
    assert frame_digests(x.double())[0] != dx[0]
    assert frame_digests(x.reshape(3, 3, 4, 16))[0] != dx[0]


def test_memo_computes_each_new_frame_once_in_input_order():
    calls = []

    def fn(frames):
        calls.append(frames.shape[0])
        return frames.sum((1, 2, 3), keepdim=True) * 2

    memo = FrameMemo(max_frames=5)
    a = torch.randn(4, 3, 2, 2)
    out = memo(a, fn)
    torch.testing.assert_close(out, fn(a))
    calls.clear()
    b = torch.cat([a[2:], torch.randn(1, 3, 2, 2), a[:1], a[:1]])
    out = memo(b, fn)
    torch.testing.assert_close(out, fn(b))
    assert calls[0] == 1  # only the one unseen frame went through fn
    assert (memo.hits, memo.misses) == (4, 5) and len(memo) == 5
    # bounded: the oldest rows go first
    memo(torch.randn(2, 3, 2, 2), fn)
    assert len(memo) == 5
    calls.clear()
    memo(a[:2], fn)
    assert calls[0] == 2
    # a batch larger than the memo still gets all its rows
    big = torch.randn(7, 3, 2, 2)
    torch.testing.assert_close(memo(big, fn), fn(big))
    with pytest.raises(ValueError, match='max_frames'):
        FrameMemo(0)


def test_extractor_memo_equals_the_network_and_forgets_on_load():
    plain, memo = _extractor(), _extractor(memo_frames=64)
    memo.load_state_dict(plain.state_dict())
    frames = torch.randn(6, 3, 64, 64)
    ref = plain(frames)
    torch.testing.assert_close(memo(frames), ref)
    torch.testing.assert_close(memo(frames.flip(0)), ref.flip(0))
    assert memo.memo.hits == 6 and memo.memo.misses == 6
    # new weights: nothing old may be returned
    other = _extractor()
    for p in other.backbone.parameters():
        p.data.mul_(1.5)
    memo.load_state_dict(other.state_dict())
    assert len(memo.memo) == 0
    torch.testing.assert_close(memo(frames), other(frames))
    # under autocast the memo stays out (other precision, other features)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        memo(frames[:2])
    assert memo.memo.misses == 12


def test_extractor_without_memo_has_none():
    assert _extractor().memo is None
