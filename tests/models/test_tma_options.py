"""Options of the TMA that make the order of frames learnable
(``docs/tma_diagnosis.md``): ``frame_offset_bias`` and
``linear_init='xavier'``. Off, the adapter is the released one.
"""
import pytest
import torch

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import S2DViT, TemporalModelingAdapter
from s2d_mm.models.backbones.tma import head_offsets


def test_zero_offset_bias_is_the_released_attention():
    torch.manual_seed(0)
    rel = TemporalModelingAdapter(16, ratio=0.5, num_heads=4).eval()
    opt = TemporalModelingAdapter(16, ratio=0.5, num_heads=4,
                                  frame_offset_bias=0.0, num_frames=3).eval()
    missing, unexpected = opt.load_state_dict(rel.state_dict(), strict=False)
    assert missing == ['frame_offset_bias'] and unexpected == []
    assert torch.count_nonzero(opt.frame_offset_bias) == 0
    u = torch.randn(2 * 3, 5, 16)
    torch.testing.assert_close(opt(u, 3), rel(u, 3), atol=1e-6, rtol=0)


def test_offset_bias_makes_each_head_look_at_its_offset():
    assert head_offsets(5) == [0, 1, -1, 2, -2]
    t, heads, dh = 4, 4, 8
    tma = TemporalModelingAdapter(16, ratio=0.5, num_heads=heads,
                                  frame_offset_bias=60.0, num_frames=t)
    table = tma.frame_offset_bias.detach()
    assert table.shape == (heads, 2 * t - 1)
    for h, off in enumerate(head_offsets(heads)):
        assert table[h, t - 1 + off] == 60.0
        assert torch.count_nonzero(table[h]) == 1
    # q = k = 0, v = identity, proj = identity: head h of frame i returns
    # its channels of frame i + offset_h (the bias alone picks the frame)
    attn = tma.temporal.attn
    with torch.no_grad():
        attn.qkv.weight.zero_()
        attn.qkv.weight[2 * dh:] = torch.eye(dh)
        attn.proj.weight.copy_(torch.eye(dh))
        attn.proj.bias.zero_()
    z = torch.randn(3, t, dh)
    out = tma._attend_with_offset_bias(z, t)
    hd = dh // heads
    for h, off in enumerate(head_offsets(heads)):
        ch = slice(h * hd, (h + 1) * hd)
        for i in range(t):
            if 0 <= i + off < t:
                torch.testing.assert_close(out[:, i, ch], z[:, i + off, ch])


def test_offset_bias_gets_gradients_and_checks_its_input():
    tma = TemporalModelingAdapter(16, ratio=0.5, num_heads=2,
                                  frame_offset_bias=4.0, num_frames=3)
    (tma(torch.randn(6, 5, 16), 3) * torch.randn(6, 5, 16)).sum().backward()
    assert tma.frame_offset_bias.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='num_frames=3 but got clips of 4'):
        tma(torch.randn(8, 5, 16), 4)
    with pytest.raises(ValueError, match='frame_offset_bias needs num_frames'):
        TemporalModelingAdapter(16, frame_offset_bias=4.0)
    with pytest.raises(ValueError, match='linear_init'):
        TemporalModelingAdapter(16, linear_init='kaiming')


def test_xavier_linear_init():
    torch.manual_seed(0)
    tma = TemporalModelingAdapter(64, ratio=0.5, num_heads=4,
                                  linear_init='xavier')
    w = tma.temporal.fc_down.weight  # (32, 64)
    expected = (2 / (32 + 64))**0.5  # Xavier-uniform std
    assert abs(w.std().item() - expected) < 0.1 * expected
    assert torch.count_nonzero(tma.temporal.fc_down.bias) == 0
    rel = TemporalModelingAdapter(64, ratio=0.5, num_heads=4)
    assert rel.temporal.fc_down.weight.std().item() < 0.025
    zero = TemporalModelingAdapter(64, ratio=0.5, num_heads=4,
                                   linear_init='xavier', tma_init='zero')
    assert torch.count_nonzero(zero(torch.randn(4, 3, 64), 2)) == 0
    zero.init_weights()  # re-applies the same init
    assert torch.count_nonzero(zero.spatial.fc_up.weight) == 0
    assert zero.temporal.fc_down.weight.std().item() > 0.1


def test_s2dvit_passes_num_frames_and_release_keys_are_unchanged():
    kw = dict(arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                        feedforward_channels=32),
              img_size=16, patch_size=8, num_frames=4, landmark=None,
              landmark_channels=4)
    bb = S2DViT(tma=dict(ratio=0.5, num_heads=2, frame_offset_bias=4.0),
                **kw)
    assert all(p.tma.num_frames == 4 for p in bb.prompters)
    assert all(p.tma.frame_offset_bias.requires_grad for p in bb.prompters)
    out = bb(torch.randn(1, 3, 4, 16, 16), torch.zeros(4, 4, 2, 2))[0]
    assert out.shape == (1, 16, 4)
    release = S2DViT(tma=dict(ratio=0.5, num_heads=2), **kw)
    added = set(bb.state_dict()) - set(release.state_dict())
    assert added == {f'prompters.{i}.tma.frame_offset_bias'
                     for i in range(2)}
    assert not any('offset' in k for k in release.state_dict())
