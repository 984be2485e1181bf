#!/usr/bin/env python
"""Speed and memory of S2D, side by side with the release-style reference.

Usage::

    python tools/analysis/benchmark.py --tiny            # < 1 min smoke run
    python tools/analysis/benchmark.py                   # ViT-B/16, 16x224
    python tools/analysis/benchmark.py --config CFG.py   # a project config
    python tools/analysis/benchmark.py --sections forward,flops --json out.json

Figures (every timing: ``--warmup`` untimed runs, ``--repeats`` timed
runs, median and relative spread ``(max-min)/median``):

- ``machine``: fp32 GEMM rate measured now, in this process (1 MAC = 2
  FLOPs); the yardstick for "fraction of the machine".
- ``forward``: clips/s of the model's test forward (landmark net, backbone,
  head) on one view, fp32 and bf16 autocast, this project vs the reference
  (release-style: eager attention, landmark net forced to fp32); the
  reference's logits must match (fp32, 1e-4) and bf16 within 2e-2 of fp32.
- ``flops``: MACs per clip from mmengine's complexity tool (plus fused
  attention, which mmengine does not count), and the achieved GFLOP/s of
  the fp32 forward as a fraction of the measured GEMM rate.
- ``train``: training iterations/s at ``--train-batch`` with the SDL anchor
  refresh on (an "update epoch" of the release), with and without
  activation checkpointing of the frozen blocks, vs the reference (extra
  forward for the refresh, per-sample loops); peak memory of one step
  (CUDA: ``max_memory_allocated``; CPU: growth of the peak RSS of a fresh
  process, see :class:`s2d_benchmark.timing.PeakMemory`); gradients with
  and without checkpointing must be equal.
- ``e2e``: test throughput in videos/s on a generated DFEW-layout dataset
  with the 2 clips x 2 crops protocol: decoding, landmarks, model, UAR/WAR
  metric, with identical views de-duplicated vs the reference (every frame
  decoded, every view computed); predictions must be identical.
- ``data``: clips/s of the training data pipeline alone with
  ``--workers`` workers, against the clips/s training consumes.
- ``landmark_cache``: the landmark net on one clip vs reading its features
  from :class:`LandmarkFeatureCache`.
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
if HERE not in sys.path:  # s2d_benchmark, benchmark_inference
    sys.path.insert(0, HERE)

import benchmark_inference as inference_bench  # noqa: E402
import s2d_benchmark.reference  # noqa: E402,F401
from s2d_benchmark.timing import (  # noqa: E402
    PeakMemory,
    format_bytes,
    malloc_env_for_memory_runs,
    time_fn,
    time_interleaved,
)

import s2d_mm  # noqa: E402,F401
from s2d_mm.models.utils.complexity import count_macs  # noqa: E402
from s2d_mm.utils.machine import (  # noqa: E402
    describe_machine,
    format_machine,
    matmul_rate,
)

SECTIONS = ('machine', 'forward', 'flops', 'train', 'e2e', 'data',
            'landmark_cache', 'cpu_rate', 'precision', 'long_video',
            'int8_study')
#: what runs without --sections (the int8 layer study is asked for)
DEFAULT_SECTIONS = SECTIONS[:-1]
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]
TINY_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 's2d_tiny.py')


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def default_setup(tiny: bool, num_classes: int) -> Dict[str, Any]:
    """Model, pipelines and sizes of the default benchmark.

    Full: ViT-B/16, 16 frames of 224 px, released MobileFaceNet (random
    weights: speed does not depend on them). Tiny: the tests' tiny S2D
    (``configs/_base_/models/s2d_tiny.py``: 2 blocks, 32 wide, 4 frames of
    32 px, quarter-width MobileFaceNet).
    """
    if tiny:
        from mmengine.config import Config
        model = Config.fromfile(TINY_CONFIG).model.to_dict()
        model['cls_head']['num_classes'] = num_classes
        model['cls_head']['loss_sdl']['num_classes'] = num_classes
        img = model['backbone']['img_size']
        frames = model['backbone']['num_frames']
    else:
        img, frames = 224, 16
        model = dict(
            type='S2DRecognizer',
            backbone=dict(
                type='S2DViT',
                arch='vit-base',
                img_size=img,
                patch_size=16,
                num_frames=frames,
                landmark=dict(
                    type='LandmarkFeatureExtractor',
                    model=osp.join(
                        REPO,
                        'configs/_base_/models/landmark_mobilefacenet.py'),
                    out_indices=(5, )),
                landmark_channels=128),
            cls_head=dict(
                type='S2DHead',
                num_classes=num_classes,
                in_channels=768,
                dropout_ratio=0.5,
                average_clips='prob',
                loss_sdl=dict(
                    type='EmotionAnchorsSDL',
                    num_classes=num_classes,
                    feat_dim=768,
                    queue_size=16,
                    topk=2)),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                mean=IMAGENET_MEAN,
                std=IMAGENET_STD,
                format_shape='NCTHW'))
    # The release's test protocol: 2 temporal clips x 2 spatial crops.
    test_pipeline = [
        dict(
            type='SampleFrames',
            clip_len=frames,
            frame_interval=1,
            num_clips=2,
            test_mode=True,
            out_of_bound_opt='repeat_last'),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(img, img), keep_ratio=False),
        dict(type='SpatialCrops', crop_size=img, num_crops=2),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    # The release's training augmentation (docs/released_code.md §3.3).
    train_pipeline = [
        dict(
            type='SampleFrames',
            clip_len=frames,
            frame_interval=1,
            num_clips=1,
            out_of_bound_opt='repeat_last'),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(img, img), keep_ratio=False),
        dict(
            type='ApplyToFrames',
            same_params=True,
            transforms=[
                dict(
                    type='RandAugment',
                    policies='timm_increasing',
                    num_policies=4,
                    magnitude_level=7,
                    magnitude_std=0.5,
                    total_level=10)
            ]),
        dict(type='RandomResizedCrop', area_range=(0.08, 1.0)),
        dict(type='Resize', scale=(img, img), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(
            type='ApplyToFrames',
            same_params=False,
            transforms=[
                dict(type='RandomErasing', erase_prob=0.25, mode='rand')
            ]),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    return dict(
        model=model,
        test_pipeline=test_pipeline,
        train_pipeline=train_pipeline,
        img=img,
        frames=frames,
        dims=model['cls_head']['in_channels'])


def _without_checkpoints(cfg):
    """Drop pretrained-weight loading from a model config: speed does not
    depend on the weights, and the benchmark must run without them."""
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            if k == 'init_cfg' and isinstance(v, dict) and \
                    v.get('type') in ('Pretrained', 'ImageStageInit'):
                continue
            if k == 'checkpoint' and cfg.get('type') == \
                    'LandmarkFeatureExtractor':
                continue
            out[k] = _without_checkpoints(v)
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_without_checkpoints(v) for v in cfg)
    return cfg


def setup_from_config(path: str, tiny: bool,
                      num_classes: int) -> Dict[str, Any]:
    """Model and pipelines from a project config (sizes read from it)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    setup = default_setup(tiny, num_classes)
    setup['model'] = _without_checkpoints(cfg.model.to_dict())
    bb = setup['model']['backbone']
    setup['frames'] = bb.get('num_frames', setup['frames'])
    img = bb.get('img_size', setup['img'])
    setup['img'] = img if isinstance(img, int) else img[0]
    for key, loader in (('test_pipeline', 'test_dataloader'),
                        ('train_pipeline', 'train_dataloader')):
        try:
            ds = cfg[loader]['dataset']
            while 'pipeline' not in ds and 'dataset' in ds:
                ds = ds['dataset']
            setup[key] = [dict(t) for t in ds['pipeline']]
        except (KeyError, TypeError):
            pass
    head = setup['model'].get('cls_head', {})
    setup['dims'] = head.get('in_channels', setup['dims'])
    return setup


def build_pair(model_cfg: dict, device: torch.device):
    """The project's recognizer and the release-style reference with the
    same weights."""
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    fast = MODELS.build(copy.deepcopy(model_cfg))
    fast.init_weights()
    ref_cfg = copy.deepcopy(model_cfg)
    ref_cfg['type'] = 'ReleaseStyleS2DRecognizer'
    ref = MODELS.build(ref_cfg)
    ref.load_state_dict(fast.state_dict())
    return fast.to(device).eval(), ref.to(device).eval()


def load_weights(args, fast, ref) -> None:
    """``--checkpoint`` into both paths (strict: every key must fit)."""
    if not args.checkpoint:
        return
    from mmengine.runner.checkpoint import _load_checkpoint

    from s2d_mm.utils.state_dict_fit import load_state_dict_checked, state_dict_of
    state = state_dict_of(_load_checkpoint(args.checkpoint,
                                           map_location='cpu'))
    load_state_dict_checked(fast, state, args.checkpoint, strict=True)
    ref.load_state_dict(fast.state_dict())


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    if dtype is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=dtype)


def clip_batch(setup, batch: int, views: int, device, seed: int = 0):
    """Normalised clips ``(B, V, 3, T, H, W)`` as the data preprocessor
    outputs them."""
    gen = torch.Generator().manual_seed(seed)
    t, s = setup['frames'], setup['img']
    return torch.randn(batch, views, 3, t, s, s, generator=gen).to(device)


def test_logits(model, inputs):
    """``(B, V, ...)`` -> per-view logits ``(B*V, C)`` (test forward)."""
    feats, kwargs = model.extract_feat(inputs, test_mode=True)
    return model.cls_head(feats, **kwargs)


def make_samples(batch: int, num_classes: int, device):
    from mmaction.structures import ActionDataSample
    samples = []
    for i in range(batch):
        s = ActionDataSample()
        s.set_gt_labels(torch.tensor([i % num_classes]))
        samples.append(s)
    return samples


def row(table: List[dict], name: str, value: str, note: str = '') -> None:
    table.append(dict(name=name, value=value, note=note))
    print(f'  {name:<46} {value:<28} {note}', flush=True)


def fmt_stats(stats, items: float = 1., unit: str = '/s') -> str:
    return f'{stats.rate(items):.3g}{unit} (+-{100 * stats.spread:.0f}%)'


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------
def gemm_shapes(setup, tiny):
    d, t, s = setup['dims'], setup['frames'], setup['img']
    tokens = t * ((s // 16)**2 + 1)
    big = 512 if tiny else 2048
    return [(big, big, big), (tokens, d, 4 * d)]


def gemm_probe(setup, device):
    """A quick GEMM-rate sample (GFLOP/s, best of both shapes, 2 runs)."""
    shapes = gemm_shapes(setup, setup['dims'] < 256)

    def probe():
        return matmul_rate(shapes, device=device, warmup=1,
                           repeats=2)['gflops']

    return probe


def bench_machine(args, setup, device, res, table):
    shapes = gemm_shapes(setup, args.tiny)
    rate = matmul_rate(
        shapes,
        device=device,
        warmup=args.warmup + 1,
        repeats=max(args.repeats, 5))
    res['matmul_fp32'] = rate
    for s_ in rate['per_shape']:
        row(table, f'fp32 GEMM {s_["shape"]}', f'{s_["gflops"]:.1f} GFLOP/s',
            f'+-{100 * s_["spread"]:.0f}%')
    row(table, 'machine fp32 matmul rate (best)',
        f'{rate["gflops"]:.1f} GFLOP/s')


def bench_forward(args, setup, device, fast, ref, res, table):
    x = clip_batch(setup, 1, 1, device)
    out = {}
    logits = {}
    precisions = [('fp32', None)]
    if args.bf16:
        precisions.append(('bf16', torch.bfloat16))
    with torch.no_grad():
        for prec, dtype in precisions:
            fns = {}
            for name, model in (('fast', fast), ('reference', ref)):

                def run(model=model, dtype=dtype):
                    with autocast(device, dtype):
                        return test_logits(model, x)

                logits[(name, prec)] = run().float()
                fns[name] = run
            # fast and reference alternate run by run, and in fp32 a GEMM
            # rate sample precedes every run: load changes of a shared CPU
            # hit both paths and the yardstick alike
            stats, probes = time_interleaved(
                fns,
                warmup=args.warmup,
                repeats=args.repeats,
                device=device,
                probe=gemm_probe(setup, device) if prec == 'fp32' else None)
            for name in fns:
                out[f'{name}_{prec}'] = stats[name].to_dict()
                if probes[name]:
                    out[f'{name}_{prec}_gemm_probe_gflops'] = probes[name]
                row(table, f'forward {name} {prec}',
                    fmt_stats(stats[name], unit=' clips/s'),
                    f'{stats[name].median:.3f} s/clip')
        if args.compile:
            compiled = copy.deepcopy(fast)
            compiled.backbone = torch.compile(compiled.backbone)

            def run_c():
                return test_logits(compiled, x)

            t0 = time.perf_counter()
            run_c()
            out['compile_s'] = time.perf_counter() - t0
            stats = time_fn(
                run_c, warmup=args.warmup, repeats=args.repeats,
                device=device)
            out['fast_fp32_compiled'] = stats.to_dict()
            row(table, 'forward fast fp32 torch.compile',
                fmt_stats(stats, unit=' clips/s'),
                f'compile {out["compile_s"]:.0f} s')
        if args.plain_vit:
            from mmpretrain.models import VisionTransformer

            from s2d_mm.models.backbones import S2DViT
            arch = setup['model']['backbone'].get('arch', 'vit-base')
            if isinstance(arch, str):  # S2D's names, e.g. 'vit-base'
                arch = dict(S2DViT.arch_zoo[arch.lower()])
            vit = VisionTransformer(
                arch=arch,
                img_size=setup['img'],
                patch_size=16).to(device)
            vit.eval()  # mmpretrain's train() returns None: no chaining
            frames = x.flatten(0, 1).transpose(1, 2).flatten(0, 1)
            stats = time_fn(
                lambda: vit(frames),
                warmup=args.warmup,
                repeats=args.repeats,
                device=device)
            out['plain_vit_fp32'] = stats.to_dict()
            row(table, 'forward plain mmpretrain ViT fp32',
                fmt_stats(stats, unit=' clips/s'),
                'same frames, no MCP/TMA/landmarks')
            del vit
    diff = (logits[('fast', 'fp32')] - logits[('reference', 'fp32')]).abs()
    out['max_abs_diff_fast_vs_ref_fp32'] = float(diff.max())
    out['same_argmax_fast_vs_ref'] = bool(
        (logits[('fast', 'fp32')].argmax(-1) == logits[('reference', 'fp32')]
         .argmax(-1)).all())
    row(table, 'logits fast vs reference (fp32)', f'{float(diff.max()):.2e}',
        'max abs diff, target <= 1e-4')
    if args.bf16:
        bdiff = (logits[('fast', 'bf16')] -
                 logits[('fast', 'fp32')]).abs().max()
        out['max_abs_diff_bf16_vs_fp32'] = float(bdiff)
        f32 = out['fast_fp32']['median']
        b16 = out['fast_bf16']['median']
        out['bf16_speedup'] = f32 / b16
        row(table, 'bf16 speed-up over fp32 (fast)', f'{f32 / b16:.2f}x',
            f'logits max abs diff {float(bdiff):.2e} (target 2e-2)')
    r = out['reference_fp32']['median'] / out['fast_fp32']['median']
    out['speedup_fp32'] = r
    row(table, 'forward speed-up fast/reference fp32', f'{r:.2f}x')
    if args.bf16:
        r = out['reference_bf16']['median'] / out['fast_bf16']['median']
        out['speedup_bf16'] = r
        row(table, 'forward speed-up fast/reference bf16', f'{r:.2f}x')
    res['forward'] = out


def bench_flops(args, setup, device, fast, res, table):
    x = clip_batch(setup, 1, 1, device)
    with torch.no_grad():
        info = count_macs(fast, (x, ), fn=lambda inp: test_logits(fast, inp))
    # what mmengine's stock handles count: everything but fused attention
    stock = dict(macs=info['macs'] - sum(
        v for k, v in info['by_operator'].items()
        if 'scaled_dot_product_attention' in k))
    macs = info['macs']
    out = dict(
        macs=macs,
        macs_without_sdpa_handle=stock['macs'],
        by_module=info['by_module'],
        skipped_ops=info['skipped_ops'])
    row(table, 'MACs per clip (mmengine + fused attention)',
        f'{macs / 1e9:.2f} GMACs', f'= {2 * macs / 1e9:.1f} GFLOP')
    row(table, 'MACs per clip (stock mmengine handles)',
        f'{stock["macs"] / 1e9:.2f} GMACs', 'misses fused attention')
    lm = sum(v for k, v in info['by_module'].items() if 'landmark' in k)
    if not lm:
        bb = fast.backbone
        if getattr(bb, 'landmark', None) is not None:
            frames = x[0, 0].transpose(0, 1)
            lm = count_macs(bb.landmark, (frames, ))['macs']
    out['landmark_macs'] = lm
    if lm:
        row(table, '  of which landmark network', f'{lm / 1e9:.2f} GMACs')
    fwd = res.get('forward', {}).get('fast_fp32')
    rate = res.get('matmul_fp32', {}).get('gflops')
    if fwd and rate:
        achieved = 2 * macs / fwd['median'] / 1e9
        out['achieved_gflops_fp32'] = achieved
        out['fraction_of_matmul_rate'] = achieved / rate
        row(table, 'achieved fp32 forward rate', f'{achieved:.1f} GFLOP/s',
            f'{100 * achieved / rate:.0f}% of measured GEMM rate '
            '(target >= 90%)')
        ref = res['forward'].get('reference_fp32')
        if ref:
            a_ref = 2 * macs / ref['median'] / 1e9
            out['reference_fraction_of_matmul_rate'] = a_ref / rate
            row(table, 'reference fp32 forward rate', f'{a_ref:.1f} GFLOP/s',
                f'{100 * a_ref / rate:.0f}% of measured GEMM rate')
        for name in ('fast', 'reference'):
            fwd_n = res['forward'].get(f'{name}_fp32')
            probes = res['forward'].get(f'{name}_fp32_gemm_probe_gflops')
            if not (fwd_n and probes):
                continue
            fracs = sorted(2 * macs / t / 1e9 / g
                           for t, g in zip(fwd_n['times'], probes))
            frac = fracs[len(fracs) // 2]
            out[f'{name}_fraction_paired'] = frac
            row(table, f'{name} fp32 forward / GEMM rate, paired',
                f'{100 * frac:.0f}%',
                'median over runs of rate / GEMM sample taken just before '
                '(target >= 90% for fast)')
    res['flops'] = out


def _train_step(model, optim, inputs, samples):
    losses = model.loss(inputs, samples)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    optim.step()
    optim.zero_grad(set_to_none=True)


def _grads_of_step(model, inputs, samples, seed=0):
    torch.manual_seed(seed)
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grads = {
        n: p.grad.detach().clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    model.zero_grad(set_to_none=True)
    return grads


def _set_cp(model, enabled: bool) -> bool:
    bb = model.backbone
    if not hasattr(bb, 'with_cp'):
        return False
    bb.with_cp = enabled
    return True


def _prime_sdl(model, setup, device):
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


def bench_train(args, setup, device, fast, ref, res, table):
    b = args.train_batch
    inputs = clip_batch(setup, b, 1, device, seed=2)
    num_classes = fast.cls_head.num_classes
    samples = make_samples(b, num_classes, device)
    out = {}
    has_cp = _set_cp(fast, False)
    state = copy.deepcopy(fast.state_dict())
    variants = [('fast', fast, False)]
    if has_cp:
        variants.append(('fast+checkpointing', fast, True))
    variants.append(('reference', ref, False))
    fns = {}
    for name, model, cp in variants:
        model.load_state_dict(state)
        _prime_sdl(model, setup, device)
        params = [p for p in model.parameters() if p.requires_grad]
        optim = torch.optim.AdamW(params, lr=1e-5)

        def step(model=model, optim=optim, cp=cp):
            _set_cp(model, cp)
            model.train()
            _train_step(model, optim, inputs, samples)

        fns[name] = step
    # variants alternate step by step (shared CPUs: same load for all)
    stats, _ = time_interleaved(
        fns, warmup=args.warmup, repeats=args.train_repeats, device=device)
    for name in fns:
        out[name] = stats[name].to_dict()
        row(table, f'train {name} (batch {b})',
            fmt_stats(stats[name], unit=' it/s'),
            f'{stats[name].median:.2f} s/it')
    del fns
    fast.eval()
    ref.eval()
    _set_cp(fast, False)
    out['speedup_vs_reference'] = (
        out['reference']['median'] / out['fast']['median'])
    row(table, 'train speed-up fast/reference',
        f'{out["speedup_vs_reference"]:.2f}x', 'target >= 1')
    if has_cp:
        # Equal gradients with and without checkpointing (same weights,
        # same batch, same dropout draws).
        grads = {}
        for cp in (False, True):
            fast.load_state_dict(state)
            _set_cp(fast, cp)
            _prime_sdl(fast, setup, device)
            fast.train()
            grads[cp] = _grads_of_step(fast, inputs, samples)
        fast.eval()
        _set_cp(fast, False)
        diff = max((grads[False][k] - grads[True][k]).abs().max().item()
                   for k in grads[False])
        scale = max(g.abs().max().item() for g in grads[False].values())
        out['checkpointing_grad_max_abs_diff'] = diff
        out['grad_max_abs'] = scale
        row(table, 'grads with vs without checkpointing', f'{diff:.2e}',
            f'max abs diff (max |grad| {scale:.2e})')
    fast.load_state_dict(state)
    ref.load_state_dict(state)
    out['memory'] = measure_train_memory(args, setup, device, fast, inputs,
                                         samples, has_cp, table)
    res['train'] = out


def _memory_of_steps(model, inputs, samples, device, cps) -> Dict[str, int]:
    state = copy.deepcopy(model.state_dict())
    peaks = {}
    for cp in cps:
        model.load_state_dict(state)
        _set_cp(model, cp)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optim = torch.optim.AdamW(params, lr=1e-5)
        _train_step(model, optim, inputs, samples)  # optimizer state
        with PeakMemory(device) as mem:
            _train_step(model, optim, inputs, samples)
        peaks['checkpointing' if cp else 'plain'] = mem.peak
        del optim
    model.eval()
    _set_cp(model, False)
    return peaks


def measure_train_memory(args, setup, device, fast, inputs, samples, has_cp,
                         table):
    cps = (False, True) if has_cp else (False, )
    if device.type == 'cuda':
        peaks = _memory_of_steps(fast, inputs, samples, device, cps)
        kind = 'torch.cuda.max_memory_allocated over one step'
    else:
        # A fresh process with a fixed mmap threshold, so that freed blocks
        # go back to the OS and the two peaks are comparable.
        cmd = [sys.executable, osp.abspath(__file__), '--memory-worker']
        cmd += [a for a in sys.argv[1:] if a != '--memory-worker']
        proc = subprocess.run(
            cmd,
            env=malloc_env_for_memory_runs(),
            capture_output=True,
            text=True)
        line = [
            ln for ln in proc.stdout.splitlines()
            if ln.startswith('MEMORY_JSON ')
        ]
        if proc.returncode or not line:
            row(table, 'train peak memory', 'failed',
                proc.stderr.strip().splitlines()[-1:])
            return dict(error=proc.stderr[-2000:])
        peaks = json.loads(line[-1][len('MEMORY_JSON '):])
        kind = ('growth of peak RSS (VmHWM) over one step, fresh process, '
                'fixed mmap threshold')
    out = dict(peaks=peaks, kind=kind)
    row(table, 'train peak memory, plain', format_bytes(peaks['plain']),
        kind)
    if 'checkpointing' in peaks:
        ratio = peaks['checkpointing'] / peaks['plain']
        out['ratio'] = ratio
        row(table, 'train peak memory, checkpointing',
            format_bytes(peaks['checkpointing']),
            f'{ratio:.2f}x of plain (target <= 0.6x)')
    return out


def memory_worker(args, setup, device):
    """Child process of :func:`measure_train_memory` (CPU)."""
    fast, _ = build_pair(setup['model'], device)
    b = args.train_batch
    inputs = clip_batch(setup, b, 1, device, seed=2)
    samples = make_samples(b, fast.cls_head.num_classes, device)
    _prime_sdl(fast, setup, device)
    cps = (False, True) if hasattr(fast.backbone, 'with_cp') else (False, )
    peaks = _memory_of_steps(fast, inputs, samples, device, cps)
    print('MEMORY_JSON ' + json.dumps(peaks), flush=True)


# ------------------------------------------------------------------ data
def make_dataset(root: str, setup, args) -> Dict[str, Any]:
    from s2d_testing.fake_data import make_fake_dfew
    return make_fake_dfew(
        root,
        num_per_class=args.train_per_class,
        num_frames=args.video_frames or setup['frames'],
        size=setup['img'],
        test_per_class=args.test_per_class)


def build_dataset(info, pipeline, split, ref_decode=False):
    from mmaction.registry import DATASETS
    pipeline = copy.deepcopy(pipeline)
    if ref_decode:
        for t in pipeline:
            if t['type'] in ('RawFrameDecode', 'mmaction.RawFrameDecode'):
                t['type'] = 'ReleaseStyleRawFrameDecode'
    return DATASETS.build(
        dict(
            type='DFEWDataset',
            ann_file=info[f'{split}_ann'],
            fold=1,
            label_base=0,
            data_prefix=dict(video=info['frame_root']),
            pipeline=pipeline,
            test_mode=split == 'test'))


def loader(dataset, workers, batch=1, shuffle=False):
    from mmengine.dataset import pseudo_collate
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        shuffle=shuffle,
        num_workers=workers,
        collate_fn=pseudo_collate,
        persistent_workers=False)


def _item(sample, name):
    """``pred_score`` / ``pred_label`` across mmaction 1.x data samples
    (1.1: ``pred_scores.item``; later: ``pred_score``)."""
    if name in sample:
        return sample.get(name)
    return sample.get(name + 's').item


class _TestPass:
    """One model's pass over a test set, advanced one batch at a time so
    that two passes can be interleaved; ``seconds`` sums the time of its own
    steps (loading and decoding included when ``workers=0``)."""

    def __init__(self, model, dataset, workers, dtype, device, meta):
        from mmaction.registry import METRICS
        self.model, self.dtype, self.device = model, dtype, device
        self.metric = METRICS.build(dict(type='UARWARMetric', prefix='test'))
        self.metric.dataset_meta = meta
        self.n = len(dataset)
        self.it = iter(loader(dataset, workers))
        self.preds, self.scores, self.seconds = [], [], 0.

    def step(self) -> bool:
        t0 = time.perf_counter()
        try:
            batch = next(self.it)
        except StopIteration:
            return False
        with torch.no_grad(), autocast(self.device, self.dtype):
            outs = self.model.test_step(batch)
        self.metric.process(batch, [o.to_dict() for o in outs])
        for o in outs:
            self.scores.append(_item(o, 'pred_score').float().cpu())
            self.preds.append(int(_item(o, 'pred_label')))
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        self.seconds += time.perf_counter() - t0
        return True

    def finish(self):
        t0 = time.perf_counter()
        result = self.metric.evaluate(self.n)
        self.seconds += time.perf_counter() - t0
        return result


def bench_e2e(args, setup, device, fast, ref, info, res, table):
    ds_fast = build_dataset(info, setup['test_pipeline'], 'test')
    ds_ref = build_dataset(
        info, setup['test_pipeline'], 'test', ref_decode=True)
    meta = ds_fast.metainfo
    n = min(len(ds_fast), args.e2e_videos or len(ds_fast))
    dtype = torch.bfloat16 if args.e2e_bf16 else None
    out = dict(videos=n, precision='bf16' if dtype else 'fp32')
    subsets = {
        name: torch.utils.data.Subset(ds, range(n))
        for name, ds in (('fast', ds_fast), ('reference', ds_ref))
    }
    models = dict(fast=fast, reference=ref)
    # warm-up: one video each
    for name in models:
        warm = _TestPass(models[name], torch.utils.data.Subset(
            subsets[name], [0]), 0, dtype, device, meta)
        while warm.step():
            pass
    seconds = {name: [] for name in models}
    for _ in range(args.e2e_repeats):
        passes = {
            name: _TestPass(models[name], subsets[name], args.e2e_workers,
                            dtype, device, meta)
            for name in models
        }
        # the two paths alternate video by video (shared CPUs)
        while all([p.step() for p in passes.values()]):
            pass
        for name, p in passes.items():
            metric = p.finish()
            seconds[name].append(p.seconds)
            out[name] = dict(metric=metric)
    for name in models:
        med = sorted(seconds[name])[len(seconds[name]) // 2]
        out[name].update(seconds=seconds[name], videos_per_s=n / med)
        row(table, f'e2e test {name} ({out["precision"]})',
            f'{n / med:.3g} videos/s',
            f'{n} videos, 2 clips x 2 crops, {args.e2e_workers} workers')
    same = passes['fast'].preds == passes['reference'].preds
    sdiff = float((torch.stack(passes['fast'].scores) -
                   torch.stack(passes['reference'].scores)).abs().max())
    out['identical_predictions'] = same
    out['score_max_abs_diff'] = sdiff
    out['speedup'] = (out['fast']['videos_per_s'] /
                      out['reference']['videos_per_s'])
    row(table, 'e2e speed-up fast/reference', f'{out["speedup"]:.2f}x',
        f'identical predictions: {same}, scores max diff {sdiff:.1e} '
        '(target >= 3x)')
    res['e2e'] = out


def bench_data(args, setup, info, res, table):
    """Clips/s of the training pipeline in steady state: workers started and
    warmed up first, then ``--data-clips`` clips timed per repetition."""
    ds = build_dataset(info, setup['train_pipeline'], 'train')
    clips = args.data_clips
    out = {}
    for workers in sorted({0, args.workers}):
        sampler = torch.utils.data.RandomSampler(
            ds, replacement=True, num_samples=1 << 30)
        from mmengine.dataset import pseudo_collate
        dl = torch.utils.data.DataLoader(
            ds,
            batch_size=1,
            sampler=sampler,
            num_workers=workers,
            collate_fn=pseudo_collate,
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers else None)
        it = iter(dl)

        def run(it=it):
            for _ in range(clips):
                next(it)

        stats = time_fn(run, warmup=1, repeats=args.repeats)
        del it, dl
        out[f'workers_{workers}'] = stats.to_dict()
        out[f'clips_per_s_workers_{workers}'] = stats.rate(clips)
        row(table, f'train data pipeline, {workers} workers',
            fmt_stats(stats, clips, ' clips/s'),
            'decode + RandAugment + crop + flip + erasing')
    train = res.get('train', {}).get('fast')
    if train:
        consumed = args.train_batch / train['median']
        ratio = out[f'clips_per_s_workers_{args.workers}'] / consumed
        out['ratio_to_training_consumption'] = ratio
        row(table, 'data pipeline / training consumption', f'{ratio:.1f}x',
            f'{args.workers} workers vs {consumed:.3g} clips/s trained '
            '(target >= 3x)')
    res['data'] = out


def bench_landmark_cache(args, setup, device, fast, res, table):
    try:
        from s2d_mm.models.backbones.landmark_cache import LandmarkFeatureCache
    except ImportError as err:
        row(table, 'landmark cache', 'n/a', str(err))
        return
    lm = fast.backbone.landmark
    if lm is None:
        return
    frames = clip_batch(setup, 1, 1, device)[0, 0].transpose(0, 1)
    keys = [f'bench/{i:05d}' for i in range(frames.shape[0])]
    out = {}
    with torch.no_grad():
        net = time_fn(
            lambda: lm(frames), warmup=args.warmup, repeats=args.repeats,
            device=device)
    out['network'] = net.to_dict()
    row(table, 'landmark net, one clip', fmt_stats(net, unit=' clips/s'),
        f'{frames.shape[0]} frames')
    with tempfile.TemporaryDirectory() as tmp:
        try:
            cache = LandmarkFeatureCache(tmp, lm)
            cache.get_or_compute(keys, frames)
            read = time_fn(
                lambda: cache.get_or_compute(keys, frames),
                warmup=args.warmup,
                repeats=args.repeats)
        except Exception as err:  # the cache's API is the landmark module's
            row(table, 'landmark cache read', 'failed', repr(err)[:80])
            res['landmark_cache'] = out
            return
    out['cache_read'] = read.to_dict()
    row(table, 'landmark cache read, one clip',
        fmt_stats(read, unit=' clips/s'),
        f'{net.median / read.median:.1f}x faster than the network')
    res['landmark_cache'] = out


# --------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', help='project config (model + pipelines); '
                   'default: built-in ViT-B/16, 16x224, 7 classes')
    p.add_argument('--tiny', action='store_true',
                   help='tiny model and data: a quick check of the script')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--sections', default=','.join(DEFAULT_SECTIONS),
                   help=f'comma-separated subset of {SECTIONS} (default: '
                   'all but int8_study)')
    p.add_argument('--checkpoint', help='weights for the model of --config '
                   '(strict); default: random weights (speed does not '
                   'depend on them, the agreement figures do)')
    p.add_argument('--precisions', default='fp32,bf16,int8,onnx',
                   help='inference precisions of the precision section '
                   '(bf16 is refused where not native)')
    p.add_argument('--agreement-clips', type=int, default=100,
                   help='fixed clips of the agreement guard (precision, '
                   'int8_study)')
    p.add_argument('--no-cpu-time', dest='cpu_time', action='store_false',
                   help='precision section: skip the one-thread CPU-time '
                   'timing (the figure a busy machine barely moves)')
    p.add_argument('--agreement-precisions', default=None,
                   help='precisions whose agreement is measured (default: '
                   'all of --precisions)')
    p.add_argument('--long-video-minutes', type=float, default=10.,
                   help='length of the generated long video (25 fps)')
    p.add_argument('--long-video-precision', default='auto',
                   help='precision of the long-video run')
    p.add_argument('--num-classes', type=int, default=7)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--repeats', type=int, default=None,
                   help='timed runs per figure; default 3 (2 with --tiny)')
    p.add_argument('--train-batch', type=int, default=None,
                   help='default: 2 (tiny / GPU), 1 (full model on CPU)')
    p.add_argument('--train-repeats', type=int, default=None)
    p.add_argument('--workers', type=int, default=2,
                   help='workers of the data-pipeline measurement')
    p.add_argument('--e2e-workers', type=int, default=0)
    p.add_argument('--e2e-repeats', type=int, default=1)
    p.add_argument('--e2e-bf16', action='store_true',
                   help='end-to-end test under bf16 autocast')
    p.add_argument('--test-per-class', type=int, default=None,
                   help='test videos per class of the generated DFEW set')
    p.add_argument('--e2e-videos', type=int, default=None,
                   help='test videos timed end to end (default: all with '
                   '--tiny, 4 otherwise)')
    p.add_argument('--train-per-class', type=int, default=2)
    p.add_argument('--video-frames', type=int, default=None,
                   help='frames per generated video (default: clip length, '
                   "as DFEW's clip_224x224_16f)")
    p.add_argument('--data-clips', type=int, default=None)
    p.add_argument('--no-bf16', dest='bf16', action='store_false')
    p.add_argument('--plain-vit', action='store_true',
                   help='also time a plain mmpretrain ViT on the same frames')
    p.add_argument('--compile', action='store_true',
                   help='also time the forward under torch.compile')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--json', help='write all figures to this JSON file')
    p.add_argument('--memory-worker', action='store_true',
                   help=argparse.SUPPRESS)
    p.add_argument('--long-video-worker', dest='long_video_file',
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cuda = args.device.startswith('cuda')
    if args.repeats is None:
        args.repeats = 2 if args.tiny else 3
    if args.train_batch is None:
        args.train_batch = 2 if (args.tiny or cuda) else 1
    if args.train_repeats is None:
        args.train_repeats = args.repeats if (args.tiny or cuda) else 2
    if args.test_per_class is None:
        args.test_per_class = 1
    if args.e2e_videos is None and not args.tiny:
        args.e2e_videos = 4
    if args.data_clips is None:
        args.data_clips = 8 if args.tiny else 16
    unknown = set(args.sections.split(',')) - set(SECTIONS)
    if unknown:
        p.error(f'unknown sections {sorted(unknown)}; choose from {SECTIONS}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    from mmengine.logging import MMLogger
    # the current logger: keeps weight-init reports out of the table
    MMLogger.get_instance('s2d_benchmark', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    setup = (
        setup_from_config(args.config, args.tiny, args.num_classes)
        if args.config else default_setup(args.tiny, args.num_classes))
    if args.memory_worker:
        memory_worker(args, setup, device)
        return
    if args.long_video_file:
        fast, ref = build_pair(setup['model'], device)
        load_weights(args, fast, ref)
        del ref
        inference_bench.long_video_worker(args, setup, device, fast)
        return
    sections = args.sections.split(',')
    res: Dict[str, Any] = dict(
        config=args.config or ('tiny' if args.tiny else
                               'ViT-B/16 16x224 (built-in)'),
        device=str(device),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(),
        load_avg_start=os.getloadavg() if hasattr(os, 'getloadavg') else None)
    table: List[dict] = []
    print(f'S2D benchmark: {res["config"]} on {device}, '
          f'{res["threads"]} threads, load average {res["load_avg_start"]}',
          flush=True)
    res['machine_info'] = describe_machine(device)
    for line in format_machine(res['machine_info']):
        print(line, flush=True)
    t_start = time.perf_counter()
    fast, ref = build_pair(setup['model'], device)
    load_weights(args, fast, ref)
    res['section_seconds'] = {}

    def timed(name, fn, *a):
        t0 = time.perf_counter()
        fn(*a)
        res['section_seconds'][name] = time.perf_counter() - t0
        print(f'  [{name}: {time.perf_counter() - t0:.0f} s]', flush=True)

    if 'machine' in sections:
        timed('machine', bench_machine, args, setup, device, res, table)
    if 'forward' in sections:
        timed('forward', bench_forward, args, setup, device, fast, ref, res, table)
    if 'flops' in sections:
        timed('flops', bench_flops, args, setup, device, fast, res, table)
    if 'train' in sections:
        timed('train', bench_train, args, setup, device, fast, ref, res, table)
    if {'e2e', 'data'} & set(sections):
        with tempfile.TemporaryDirectory() as root:
            info = make_dataset(root, setup, args)
            if 'e2e' in sections:
                timed('e2e', bench_e2e, args, setup, device, fast, ref, info, res, table)
            if 'data' in sections:
                timed('data', bench_data, args, setup, info, res, table)
    if 'landmark_cache' in sections:
        timed('landmark_cache', bench_landmark_cache, args, setup, device, fast, res, table)
    if 'cpu_rate' in sections:
        timed('cpu_rate', inference_bench.bench_cpu_rate, args, setup,
              device, fast, ref, res, table, row,
              gemm_shapes(setup, args.tiny))
    if 'precision' in sections:
        timed('precision', inference_bench.bench_precision, args, setup,
              device, fast, ref, res, table, row)
    if 'int8_study' in sections:
        timed('int8_study', inference_bench.bench_int8_study, args, setup,
              device, fast, res, table, row)
    if 'long_video' in sections:
        timed('long_video', inference_bench.bench_long_video, args, setup,
              res, table, row, osp.abspath(__file__))
    res['table'] = table
    res['total_seconds'] = time.perf_counter() - t_start
    res['load_avg_end'] = (
        os.getloadavg() if hasattr(os, 'getloadavg') else None)
    print(f'done in {res["total_seconds"]:.0f} s, load average now '
          f'{res["load_avg_end"]}', flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1, default=str)
    return res


if __name__ == '__main__':
    main()
