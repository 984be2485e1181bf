"""The release-style reference path computes what the project computes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from perf_tiny import CLASSES, IMG, NUM_FRAMES
from s2d_benchmark.reference import (
    eager_attention,
    force_float32,
    loop_soft_target,
    loop_update,
    set_attention_impl,
)
from s2d_benchmark.reference.attention import ATTN_IMPLS


def clips(b, v, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, v, 3, NUM_FRAMES, IMG, IMG, generator=g)


def test_eager_attention_matches_sdpa():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
    torch.testing.assert_close(
        eager_attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
        atol=1e-6, rtol=1e-5)
    mask = torch.rand(5, 5, generator=g) > 0.3
    mask[:, 0] = True
    torch.testing.assert_close(
        eager_attention(q, k, v, attn_mask=mask),
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        atol=1e-6, rtol=1e-5)


def test_reference_switches_every_attention(pair):
    fast, ref = pair
    ref_fns = [m.scaled_dot_product_attention for m in ref.modules()
               if hasattr(m, 'scaled_dot_product_attention')]
    fast_fns = [m.scaled_dot_product_attention for m in fast.modules()
                if hasattr(m, 'scaled_dot_product_attention')]
    # 2 ViT blocks + 2 TMAs
    assert len(ref_fns) == len(fast_fns) == 4
    assert all(f is eager_attention for f in ref_fns)
    assert all(f is F.scaled_dot_product_attention for f in fast_fns)
    with pytest.raises(ValueError, match='one of'):
        set_attention_impl(fast, 'flash')
    with pytest.raises(ValueError, match='no mmpretrain'):
        set_attention_impl(torch.nn.Linear(2, 2), ATTN_IMPLS[0])


def test_same_logits_and_predictions(pair):
    fast, ref = pair
    x = clips(2, 4)
    with torch.no_grad():
        lf = fast.cls_head(fast.extract_feat(x, test_mode=True)[0])
        lr = ref.cls_head(ref.extract_feat(x, test_mode=True)[0])
    assert lf.shape == (8, CLASSES)
    torch.testing.assert_close(lf, lr, atol=1e-5, rtol=1e-5)
    assert torch.equal(lf.argmax(-1), lr.argmax(-1))


def test_landmark_forced_to_float32():
    seen = []
    lin = torch.nn.Linear(4, 4)
    lin.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    force_float32(lin)
    x = torch.randn(2, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = lin(x)
        plain = torch.nn.Linear(4, 4)(x)
    assert seen == [torch.float32] and y.dtype == torch.float32
    assert plain.dtype == torch.bfloat16  # autocast is really on


def fill_bank(sdl, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = sdl.num_classes
    feats = torch.randn(n, sdl.feat_dim, generator=g)
    scores = torch.randn(n, c, generator=g)
    labels = torch.randint(0, c, (n, ), generator=g)
    return feats, scores, labels


@pytest.mark.parametrize('release_compat', [False, True])
@pytest.mark.parametrize('n_push', [0, 3, 9, 40])
def test_loop_anchor_search_equals_batched(release_compat, n_push):
    from s2d_mm.models.losses.sdl import EmotionAnchorsSDL
    torch.manual_seed(0)
    a = EmotionAnchorsSDL(5, 6, queue_size=4, topk=2,
                          release_compat=release_compat)
    b = EmotionAnchorsSDL(5, 6, queue_size=4, topk=2,
                          release_compat=release_compat)
    b.load_state_dict(a.state_dict())
    if n_push:
        f, s, lab = fill_bank(a, n_push)
        a.update(f, s, lab)
        loop_update(b, f, s, lab)
    for name, buf in a.named_buffers():
        assert torch.equal(buf, dict(b.named_buffers())[name]), name
    feat = torch.randn(7, 6, generator=torch.Generator().manual_seed(3))
    t_vec, v_vec = a.soft_target(feat)
    t_loop, v_loop = loop_soft_target(b, feat)
    assert torch.equal(v_vec, v_loop)
    torch.testing.assert_close(t_vec[v_vec], t_loop[v_loop], atol=1e-6,
                               rtol=1e-5)


def test_training_refresh_same_bank_and_loss(pair):
    """Extra refresh pass (reference) vs reused training features (fast):
    same losses, same gradients, same anchor bank (no dropout)."""
    from mmaction.structures import ActionDataSample
    fast, ref = pair
    x = clips(3, 1, seed=1)
    samples = []
    for i in range(3):
        s = ActionDataSample()
        s.set_gt_labels(torch.tensor([i % CLASSES]))
        samples.append(s)
    grads, banks, losses, passes = [], [], [], []
    for model in (fast, ref):
        sdl = model.cls_head.loss_sdl
        f, s, lab = fill_bank(sdl, 10, seed=5)
        sdl.update(f, s, lab)
        sdl.weight, sdl.refresh = 1.0, True
        model.train()
        calls = []
        backbone_forward = model.backbone.forward
        model.backbone.forward = lambda *a, **k: (
            calls.append(1) or backbone_forward(*a, **k))
        try:
            out = model.loss(x, samples)
        finally:
            del model.backbone.forward
        passes.append(len(calls))
        loss = sum(out.values())
        loss.backward()
        losses.append({k: v.detach() for k, v in out.items()})
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
        banks.append({n: b.clone() for n, b in sdl.named_buffers()})
    # fast reuses the training features; the reference pays a second pass
    assert passes == [1, 2]
    assert losses[0].keys() == losses[1].keys() and 'loss_sdl' in losses[0]
    for k in losses[0]:
        torch.testing.assert_close(losses[0][k], losses[1][k], atol=1e-5,
                                   rtol=1e-5)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], atol=1e-5,
                                   rtol=1e-4)
    for k in banks[0]:
        torch.testing.assert_close(banks[0][k], banks[1][k], atol=1e-5,
                                   rtol=1e-5)
    assert int(banks[0]['anchor_count'].sum()) > 10  # the batch was pushed


def test_release_decode_same_frames(tmp_path):
    from mmaction.datasets.transforms import RawFrameDecode, SampleFrames
    from s2d_benchmark.reference import ReleaseStyleRawFrameDecode
    from s2d_testing.fake_data import make_frame_folder
    make_frame_folder(str(tmp_path / 'v'), 9, 2, 16)
    base = dict(frame_dir=str(tmp_path / 'v'), total_frames=9,
                filename_tmpl='{:05d}.jpg', start_index=1, modality='RGB')
    names = sorted(p.name for p in (tmp_path / 'v').iterdir())
    if names[0] != '00001.jpg':
        pytest.skip(f'unexpected frame names {names[:2]}')
    sample = SampleFrames(clip_len=4, num_clips=2, test_mode=True)(
        dict(base))
    a = RawFrameDecode()(dict(sample))
    b = ReleaseStyleRawFrameDecode()(dict(sample))
    assert len(a['imgs']) == len(b['imgs']) == 8
    for x, y in zip(a['imgs'], b['imgs']):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a['frame_inds'], b['frame_inds'])
