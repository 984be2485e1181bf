"""Activation checkpointing of the frozen blocks: same gradients."""
import torch
from perf_tiny import IMG, NUM_FRAMES, build_pair


def _grads(model, x, samples, with_cp):
    model.backbone.with_cp = with_cp
    model.train()
    calls = []
    # a pre-hook: the recomputation may stop before the block's end
    hook = model.backbone.layers[1].register_forward_pre_hook(
        lambda *a: calls.append(1))
    torch.manual_seed(0)  # same dropout draws in the head
    losses = model.loss(x, samples)
    sum(losses.values()).backward()
    hook.remove()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads, len(calls)


def test_checkpointing_gives_equal_gradients():
    from mmaction.structures import ActionDataSample
    fast, _ = build_pair(dropout=0.5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 3, NUM_FRAMES, IMG, IMG, generator=g)
    samples = []
    for i in range(2):
        s = ActionDataSample()
        s.set_gt_labels(torch.tensor([i]))
        samples.append(s)
    plain, n_plain = _grads(fast, x, samples, False)
    ckpt, n_ckpt = _grads(fast, x, samples, True)
    # the block really was recomputed in the backward pass
    assert n_plain == 1 and n_ckpt == 2
    assert plain.keys() == ckpt.keys()
    assert any(k.startswith('backbone.prompters') for k in plain)
    assert not any(k.startswith('backbone.layers') for k in plain)
    for k in plain:
        torch.testing.assert_close(plain[k], ckpt[k], atol=1e-6, rtol=1e-5)


def test_checkpointing_off_in_eval_and_no_grad():
    fast, _ = build_pair()
    fast.backbone.with_cp = True
    x = torch.randn(1, 3, NUM_FRAMES, IMG, IMG)
    with torch.no_grad():
        out = fast.backbone(x)[0]
    assert out.shape[-1] == NUM_FRAMES and not out.requires_grad
