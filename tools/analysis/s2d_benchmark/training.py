"""Section ``train``: training iterations/s and peak memory of one step.

Training steps at ``--train-batch`` with the SDL anchor refresh on (an
"update epoch" of the release), with and without activation checkpointing
of the frozen blocks (``with_cp``), against the reference (an extra
forward for the refresh, per-sample loops), the variants alternating step
by step. Gradients with and without checkpointing must be equal. Peak
memory of one step: CUDA ``max_memory_allocated``; on a CPU the growth of
the peak RSS in a fresh process (``--memory-worker``, a fixed mmap
threshold so freed blocks return to the OS; see
:class:`~s2d_benchmark.timing.PeakMemory`); ``--no-train-memory`` skips it.
"""
import copy
import json
import subprocess
from typing import Dict

import torch

from .models import build_model, clip_batch, make_samples
from .report import fmt_stats
from .timing import (
    PeakMemory,
    format_bytes,
    malloc_env_for_memory_runs,
    time_interleaved,
)

MEMORY_TAG = 'MEMORY_JSON '


def train_step(model, optim, inputs, samples) -> None:
    """One optimizer step on the summed losses of ``model.loss``."""
    losses = model.loss(inputs, samples)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    optim.step()
    optim.zero_grad(set_to_none=True)


def grads_of_step(model, inputs, samples, seed: int = 0) -> Dict:
    """Parameter gradients of one backward (dropout seeded)."""
    torch.manual_seed(seed)
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grads = {n: p.grad.detach().clone()
             for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def set_checkpointing(model, enabled: bool) -> bool:
    """``with_cp`` of the backbone; False where it has none."""
    bb = model.backbone
    if not hasattr(bb, 'with_cp'):
        return False
    bb.with_cp = enabled
    return True


def prime_sdl(model, device) -> None:
    """Fill the anchor bank and turn the refresh on (an update epoch)."""
    sdl = getattr(model.cls_head, 'loss_sdl', None)
    if sdl is None:
        return
    gen = torch.Generator().manual_seed(1)
    c, d = sdl.num_classes, sdl.feat_dim
    n = c * sdl.queue_size
    sdl.update(
        torch.randn(n, d, generator=gen).to(device),
        torch.randn(n, c, generator=gen).to(device),
        torch.arange(n, device=device) % c)
    sdl.weight = 1.0
    sdl.refresh = True


def _inputs(setup, batch, num_classes, device):
    """A fixed training batch: clips ``(B, 1, 3, T, S, S)`` and labels."""
    return (clip_batch(setup, batch, 1, device, seed=2),
            make_samples(batch, num_classes))


def bench_train(bench):
    a, device, fast, ref = bench.args, bench.device, bench.fast, bench.ref
    b = a.train_batch
    inputs, samples = _inputs(bench.setup, b, fast.cls_head.num_classes, device)
    out = {}
    has_cp = set_checkpointing(fast, False)
    state = copy.deepcopy(fast.state_dict())
    variants = [('fast', fast, False)]
    if has_cp:
        variants.append(('fast+checkpointing', fast, True))
    variants.append(('reference', ref, False))
    fns = {}
    for name, model, cp in variants:
        model.load_state_dict(state)
        prime_sdl(model, device)
        optim = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-5)

        def step(model=model, optim=optim, cp=cp):
            set_checkpointing(model, cp)
            model.train()
            train_step(model, optim, inputs, samples)

        fns[name] = step
    # variants alternate step by step (shared CPUs: same load for all)
    stats, _ = time_interleaved(fns, warmup=a.warmup,
                                repeats=a.train_repeats, device=device)
    for name in fns:
        out[name] = stats[name].to_dict()
        bench.row(f'train {name} (batch {b})',
                  fmt_stats(stats[name], unit=' it/s'),
                  f'{stats[name].median:.2f} s/it')
    del fns
    fast.eval()
    ref.eval()
    set_checkpointing(fast, False)
    out['speedup_vs_reference'] = (out['reference']['median'] /
                                   out['fast']['median'])
    bench.row('train speed-up fast/reference',
              f'{out["speedup_vs_reference"]:.2f}x', 'target >= 1')
    if has_cp:
        # equal gradients with and without checkpointing (same weights,
        # same batch, same dropout draws)
        grads = {}
        for cp in (False, True):
            fast.load_state_dict(state)
            set_checkpointing(fast, cp)
            prime_sdl(fast, device)
            fast.train()
            grads[cp] = grads_of_step(fast, inputs, samples)
        fast.eval()
        set_checkpointing(fast, False)
        diff = max((grads[False][k] - grads[True][k]).abs().max().item()
                   for k in grads[False])
        scale = max(g.abs().max().item() for g in grads[False].values())
        out['checkpointing_grad_max_abs_diff'] = diff
        out['grad_max_abs'] = scale
        bench.row('grads with vs without checkpointing', f'{diff:.2e}',
                  f'max abs diff (max |grad| {scale:.2e})')
    fast.load_state_dict(state)
    ref.load_state_dict(state)
    if a.train_memory:
        out['memory'] = _train_memory(bench, inputs, samples, has_cp)
    bench.res['train'] = out


def memory_of_steps(model, inputs, samples, device, cps) -> Dict[str, int]:
    """Peak memory (bytes) of one training step per checkpointing setting
    in ``cps``, after a first step that creates the optimizer state."""
    state = copy.deepcopy(model.state_dict())
    peaks = {}
    for cp in cps:
        model.load_state_dict(state)
        set_checkpointing(model, cp)
        model.train()
        optim = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-5)
        train_step(model, optim, inputs, samples)  # optimizer state
        with PeakMemory(device) as mem:
            train_step(model, optim, inputs, samples)
        peaks['checkpointing' if cp else 'plain'] = mem.peak
        del optim
    model.eval()
    set_checkpointing(model, False)
    model.load_state_dict(state)
    return peaks


def _train_memory(bench, inputs, samples, has_cp):
    device = bench.device
    cps = (False, True) if has_cp else (False, )
    if device.type == 'cuda':
        peaks = memory_of_steps(bench.fast, inputs, samples, device, cps)
        kind = 'torch.cuda.max_memory_allocated over one step'
    else:
        # a fresh process with a fixed mmap threshold, so that freed blocks
        # go back to the OS and the two peaks are comparable
        proc = subprocess.run(bench.worker_command('--memory-worker'),
                              env=malloc_env_for_memory_runs(),
                              capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines()
                if ln.startswith(MEMORY_TAG)]
        if proc.returncode or not line:
            bench.row('train peak memory', 'failed',
                      ''.join(proc.stderr.strip().splitlines()[-1:])[:90])
            return dict(error=proc.stderr[-2000:])
        peaks = json.loads(line[-1][len(MEMORY_TAG):])
        kind = ('growth of peak RSS (VmHWM) over one step, fresh process, '
                'fixed mmap threshold')
    out = dict(peaks=peaks, kind=kind)
    bench.row('train peak memory, plain', format_bytes(peaks['plain']), kind)
    if 'checkpointing' in peaks:
        out['ratio'] = peaks['checkpointing'] / peaks['plain']
        bench.row('train peak memory, checkpointing',
                  format_bytes(peaks['checkpointing']),
                  f'{out["ratio"]:.2f}x of plain (target <= 0.6x)')
    return out


def memory_worker(args, setup, device) -> Dict[str, int]:
    """The ``--memory-worker`` process: the peaks of
    :func:`memory_of_steps`, printed as ``MEMORY_JSON {...}``."""
    fast = build_model(setup['model'], device)
    inputs, samples = _inputs(setup, args.train_batch,
                              fast.cls_head.num_classes, device)
    prime_sdl(fast, device)
    cps = (False, True) if hasattr(fast.backbone, 'with_cp') else (False, )
    peaks = memory_of_steps(fast, inputs, samples, device, cps)
    print(MEMORY_TAG + json.dumps(peaks), flush=True)
    return peaks
