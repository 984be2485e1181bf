"""EmotionAnchorsSDL: soft targets and losses against hand-computed values."""
import math

import pytest
import torch

from s2d_mm.models.losses import EmotionAnchorsSDL

# Three anchors on a 2-D feature plane, C = 3 classes, class 2 left empty.
P_A = [0.7, 0.2, 0.1]  # class 0, feature (1, 0)
P_B = [0.1, 0.1, 0.8]  # class 0, feature (-1, 0)
P_C = [0.2, 0.5, 0.3]  # class 1, feature (0, 2)


def _bank(topk=2, **kwargs):
    sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=2, queue_size=2,
                            topk=topk, **kwargs)
    feats = torch.tensor([[1., 0.], [-1., 0.], [0., 2.]])
    logits = torch.tensor([P_A, P_B, P_C]).log()
    sdl.update(feats, logits, torch.tensor([0, 0, 1]))
    return sdl


def _mix(*pairs):
    out = [0., 0., 0.]
    for w, p in pairs:
        for j in range(3):
            out[j] += w * p[j]
    return out


def _bce(logits, target):
    total = 0.
    for x, t in zip(logits, target):
        s = 1 / (1 + math.exp(-x))
        total -= t * math.log(s) + (1 - t) * math.log(1 - s)
    return total / len(logits)


def test_registered_in_both_scopes():
    from mmaction.registry import MODELS as A
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as P
    cfg = dict(type='EmotionAnchorsSDL', num_classes=3, feat_dim=4)
    for scope, registry in (('mmaction', A), ('mmpretrain', P)):
        assert registry.get('EmotionAnchorsSDL') is EmotionAnchorsSDL
        with DefaultScope.overwrite_default_scope(scope):
            assert isinstance(registry.build(cfg), EmotionAnchorsSDL)


def test_empty_bank_gives_zero_loss_with_graph():
    sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=2, queue_size=2)
    assert sdl.anchor_count.tolist() == [0, 0, 0]
    target, valid = sdl.soft_target(torch.randn(4, 2))
    assert not valid.any()
    score = torch.randn(4, 3, requires_grad=True)
    loss = sdl(score, torch.randn(4, 2))
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    assert torch.equal(score.grad, torch.zeros(4, 3))


def test_fifo_fill_and_overwrite():
    sdl = _bank()
    assert sdl.anchor_count.tolist() == [2, 1, 0]
    assert sdl.anchor_ptr.tolist() == [0, 1, 0]
    torch.testing.assert_close(sdl.anchor_probs[1, 0], torch.tensor(P_C))
    # Three class-2 samples in one push into a queue of 2: the last two win.
    feats = torch.tensor([[1., 1.], [2., 2.], [3., 3.]])
    sdl.update(feats, torch.zeros(3, 3), torch.tensor([2, 2, 2]))
    assert sdl.anchor_count.tolist() == [2, 1, 2]
    assert sdl.anchor_ptr[2].item() == 1
    kept = sorted(sdl.anchor_feats[2, :, 0].tolist())
    assert kept == [2., 3.]
    # The next push overwrites the oldest (slot 1 holds 2., slot 0 holds 3.)
    sdl.update(torch.tensor([[4., 4.]]), torch.zeros(1, 3), torch.tensor([2]))
    assert sorted(sdl.anchor_feats[2, :, 0].tolist()) == [3., 4.]


def test_partial_bank_soft_target_and_bce():
    sdl = _bank(topk=1)
    # f ~ (0.6, 0.8): sim A 0.6, sim C 0.8, class 2 empty.
    feat = torch.tensor([[3., 4.]])
    target, valid = sdl.soft_target(feat)
    expect = [v / 1.4 for v in _mix((0.6, P_A), (0.8, P_C))]
    assert valid.tolist() == [True]
    torch.testing.assert_close(target[0], torch.tensor(expect))
    logits = [0.3, -1.2, 2.0]
    sdl.weight = 0.5
    loss = sdl(torch.tensor([logits]), feat)
    assert loss.item() == pytest.approx(0.5 * _bce(logits, expect), rel=1e-5)


def test_negative_similarity_clamped_and_fallback():
    sdl = _bank(topk=2)
    # K = 2 keeps A (0.6) and B (-0.6) for class 0: B gets weight 0.
    target, _ = sdl.soft_target(torch.tensor([[3., 4.]]))
    expect = [v / 1.4 for v in _mix((0.6, P_A), (0.8, P_C))]
    torch.testing.assert_close(target[0], torch.tensor(expect))
    # f = (0, -1): sims 0, 0, -1 -> no positive weight -> mean of kept.
    target, valid = sdl.soft_target(torch.tensor([[0., -1.]]))
    expect = [v / 3 for v in _mix((1, P_A), (1, P_B), (1, P_C))]
    torch.testing.assert_close(target[0], torch.tensor(expect))
    assert valid.item()
    assert (target >= 0).all() and (target <= 1).all()


def test_release_compat_raw_weights():
    torch.manual_seed(0)
    sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=2, queue_size=2, topk=2,
                            release_compat=True)
    # torch.rand initial anchors count as filled.
    assert sdl.anchor_count.tolist() == [2, 2, 2]
    assert sdl.feat_source == 'post_dropout' and not sdl.refresh_eval
    assert 0 <= sdl.anchor_feats.min() and sdl.anchor_feats.max() < 1
    sdl.anchor_feats.copy_(torch.tensor([[[1., 0.], [-1., 0.]],
                                         [[0., 2.], [0., 2.]],
                                         [[-1., -1.], [-1., -1.]]]))
    sdl.anchor_probs.copy_(torch.tensor([[P_A, P_B], [P_C, P_C],
                                         [P_B, P_B]]))
    feat = torch.tensor([[3., 4.]])
    s = -0.7 * math.sqrt(2)  # cos((0.6, 0.8), (-1, -1))
    w = [(0.6, P_A), (-0.6, P_B), (0.8, P_C), (0.8, P_C), (s, P_B), (s, P_B)]
    denom = sum(x for x, _ in w)
    expect = [v / denom for v in _mix(*w)]
    target, _ = sdl.soft_target(feat)
    torch.testing.assert_close(target[0], torch.tensor(expect))
    # Raw weights are unguarded: this target leaves [0, 1].
    assert min(expect) < 0 or max(expect) > 1
    assert (target < 0).any() or (target > 1).any()


def test_kl_option():
    sdl = _bank(topk=1, loss_type='kl')
    feat = torch.tensor([[3., 4.]])
    t = [v / 1.4 for v in _mix((0.6, P_A), (0.8, P_C))]
    logits = [0.3, -1.2, 2.0]
    lse = math.log(sum(math.exp(x) for x in logits))
    expect = sum(ti * (math.log(ti) - (x - lse)) for ti, x in zip(t, logits))
    loss = sdl(torch.tensor([logits]), feat)
    assert loss.item() == pytest.approx(expect, rel=1e-5)


def test_samples_without_anchor_are_masked_out():
    sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=2, queue_size=2,
                            topk=1)
    sdl.update(torch.tensor([[1., 0.]]), torch.tensor([P_A]).log(),
               torch.tensor([0]))
    # Both samples see the class-0 anchor; only sim > 0 matters for the
    # first, the second falls back to the anchor itself.
    target, valid = sdl.soft_target(torch.tensor([[2., 0.], [-1., 0.]]))
    assert valid.tolist() == [True, True]
    torch.testing.assert_close(target, torch.tensor([P_A, P_A]))


def test_weight_zero_skips_and_state_dict_roundtrip():
    sdl = _bank()
    sdl.weight = 0.
    assert sdl(torch.randn(2, 3), torch.randn(2, 2)).item() == 0
    state = sdl.state_dict()
    assert set(state) == {'anchor_feats', 'anchor_probs', 'anchor_count',
                          'anchor_ptr'}
    fresh = EmotionAnchorsSDL(num_classes=3, feat_dim=2, queue_size=2)
    fresh.load_state_dict(state)
    for k in state:
        assert torch.equal(fresh.state_dict()[k], state[k])


def test_vectorised_update_matches_sequential_fifo():
    torch.manual_seed(1)
    C, Q, D = 4, 3, 5
    sdl = EmotionAnchorsSDL(num_classes=C, feat_dim=D, queue_size=Q)
    queues = {c: [] for c in range(C)}
    for _ in range(4):
        feats = torch.randn(7, D)
        labels = torch.randint(0, C, (7, ))
        sdl.update(feats, torch.randn(7, C), labels)
        for f, y in zip(feats, labels.tolist()):
            queues[y] = (queues[y] + [f])[-Q:]
    for c in range(C):
        n = len(queues[c])
        assert sdl.anchor_count[c].item() == n
        got = sdl.anchor_feats[c, :n]
        want = torch.stack(queues[c]) if n else torch.zeros(0, D)
        # Same set of anchors (order inside a ring buffer is irrelevant).
        key = lambda t: t[:, 0].argsort()  # noqa: E731
        torch.testing.assert_close(got[key(got)], want[key(want)])


def test_bad_inputs_raise_clear_errors():
    sdl = EmotionAnchorsSDL(num_classes=3, feat_dim=2)
    with pytest.raises(ValueError, match=r'feat must have shape \(B, 2\)'):
        sdl(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match='cls_score must have shape'):
        sdl(torch.randn(2, 5), torch.randn(2, 2))
    with pytest.raises(ValueError, match='hard labels'):
        sdl.update(torch.randn(2, 2), torch.randn(2, 3), torch.rand(2, 3))
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        sdl.update(torch.randn(2, 2), torch.randn(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='loss_type'):
        EmotionAnchorsSDL(num_classes=3, feat_dim=2, loss_type='mse')
