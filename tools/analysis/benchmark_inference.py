"""Inference sections of ``tools/analysis/benchmark.py``.

- ``precision``: ``tools/infer.py``-style inference (one clip of face
  crops in memory -> :func:`~s2d_mm.apis.inference_video`, one view, no
  face detection) in every precision of :mod:`s2d_mm.apis.precision`
  against the release-style reference (fp32, eager attention, landmark net
  in fp32), the runs alternating; then the agreement guard: top-1
  agreement with fp32 and max |dprob| over ``--agreement-clips`` fixed
  clips (synthetic faces of the demo's generator and structured noise).
  Prints ``precision auto picked: <mode>`` and one ``inference speed-up vs
  reference (<mode>): <r>x, top-1 agreement <pct>%, max dprob <v>`` line
  per mode.
- ``int8_study``: the agreement when only one group of Linear layers is
  quantized (ViT attention, ViT MLP, TMAs, MCP projections, landmark
  projection, classifier), with each group's share of the Linear FLOPs:
  what :data:`s2d_mm.apis.precision.INT8_SKIP` is based on.
- ``cpu_rate``: the fp32 forward on one thread, timed in CPU time
  (``time.thread_time``), against a one-thread GEMM timed the same way,
  with the share and rate of each part (ViT attention, ViT MLP, TMAs,
  MCPs, landmark network): a figure a shared machine barely moves, since
  time the thread spends descheduled is not counted.
- ``long_video``: a generated video of ``--long-video-minutes`` at 25 fps
  through ``inference_video`` in a fresh process per length (a short and
  the long one), peak RSS and seconds per video-minute; prints ``long
  video: <minutes> min at 25 fps, peak RSS <MiB> MiB, <seconds> s per
  video-minute``.
"""
import copy
import json
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import cv2
import numpy as np
import torch
from s2d_benchmark.timing import time_interleaved

MODES = ('fp32', 'bf16', 'int8', 'onnx')

#: Linear layer groups of the int8 study (regular expressions over module
#: names of the recognizer).
INT8_GROUPS = (
    ('ViT attention (qkv, proj)', r'^backbone\.layers\.\d+\.attn\.'),
    ('ViT MLP (fc1, fc2)', r'^backbone\.layers\.\d+\.ffn\.'),
    ('TMAs', r'^backbone\.prompters\.\d+\.tma\.'),
    ('MCP projections (h=8)',
     r'^backbone\.prompters\.\d+\.proj_(image|landmark|out)$'),
    ('landmark projection', r'^backbone\.landmark_embed$'),
    ('classifier', r'^cls_head\.'),
)


# --------------------------------------------------------------------------
# models and clips
# --------------------------------------------------------------------------
def infer_pipeline(setup) -> List[dict]:
    """One view per clip, as ``tools/infer.py`` on face crops: T frames
    resized to the model's input (no test-time crops to de-duplicate)."""
    s = setup['img']
    return [
        dict(type='SampleFrames', clip_len=setup['frames'], frame_interval=1,
             num_clips=1, test_mode=True),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(s, s), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]


def attach_cfg(model, setup):
    """The ``model.cfg`` that :func:`inference_video` reads."""
    from mmengine.config import Config
    model.cfg = Config(dict(default_scope='mmaction',
                            test_pipeline=infer_pipeline(setup)))
    return model


#: seed of the agreement clips; the demo dataset draws clip k from
#: ``default_rng([0, k])`` (its default seed), so these are other faces
AGREEMENT_SEED = 2312


def agreement_clips(setup, n: int,
                    seed: int = AGREEMENT_SEED) -> List[List[np.ndarray]]:
    """``n`` fixed clips of T BGR frames at the model's size: even ones a
    synthetic face of the demo's generator (the seven DFEW expressions in
    turn), odd ones structured noise (a random low-resolution picture
    changing over time, upsampled, plus pixel noise)."""
    from demo.expressions import DFEW_CLASSES
    from demo.synthetic_dfew import render_clip
    t, s = setup['frames'], setup['img']
    clips = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        if i % 2 == 0:
            name = DFEW_CLASSES[(i // 2) % len(DFEW_CLASSES)]
            clips.append(render_clip(name, rng, num_frames=t,
                                     img_size=(s, s))['frames'])
            continue
        a, b = rng.uniform(0, 255, (2, 6, 6, 3))
        frames = []
        for k in range(t):
            w = k / max(1, t - 1)
            low = cv2.resize((1 - w) * a + w * b, (s, s),
                             interpolation=cv2.INTER_CUBIC)
            frames.append(np.clip(low + rng.normal(0, 10, (s, s, 3)), 0,
                                  255).astype(np.uint8))
        clips.append(frames)
    return clips


def build_modes(fast, modes, device, tmp_dir: str):
    """Prepared copies of ``fast`` per mode; refused modes with the
    reason."""
    from s2d_mm.apis.precision import PrecisionNotSupportedError, apply_precision
    models, refused, details = {}, {}, {}
    for mode in modes:
        try:
            onnx_file = None
            if mode == 'onnx':
                from s2d_mm.apis.onnx_model import export_onnx
                onnx_file = osp.join(tmp_dir, 'model.onnx')
                t0 = time.perf_counter()
                report = export_onnx(fast, onnx_file)
                details['onnx_export_s'] = time.perf_counter() - t0
                details['onnx_max_abs_diff'] = report['max_abs_diff']
            m = apply_precision(fast, mode, device=device,
                                onnx_file=onnx_file, copy_model=True)
        except PrecisionNotSupportedError as err:
            refused[mode] = str(err)
            continue
        models[mode] = m
        details[mode] = str(m.inference_precision)
    return models, refused, details


def clip_probs(model, clips) -> np.ndarray:
    """``(N, C)`` probabilities of ``inference_video`` on each clip."""
    from s2d_mm.apis import inference_video
    with torch.no_grad():
        return np.stack([
            inference_video(model, c, detect=False)['probs'] for c in clips
        ])


def agreement(p: np.ndarray, p0: np.ndarray) -> Dict[str, float]:
    return dict(
        agreement=float((p.argmax(1) == p0.argmax(1)).mean()),
        max_dprob=float(np.abs(p - p0).max()))


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------
def bench_precision(args, setup, device, fast, ref, res, table, row):
    from s2d_mm.apis.precision import check_precision
    modes = [m for m in args.precisions.split(',') if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f'--precisions: unknown {sorted(unknown)}; choose '
                         f'from {MODES}')
    if 'fp32' not in modes:
        modes.insert(0, 'fp32')  # the yardstick of the agreement
    out = dict(pipeline='one view, face crops in memory, no detection')
    auto = check_precision('auto', device, fast)
    out['auto'] = dict(mode=auto.mode, reason=auto.reason)
    print(f'precision auto picked: {auto.mode}', flush=True)
    row(table, 'precision auto', auto.mode, auto.reason)
    if auto.mode not in modes:
        modes.append(auto.mode)
    attach_cfg(fast, setup)
    attach_cfg(ref, setup)
    with tempfile.TemporaryDirectory() as tmp:
        models, refused, details = build_modes(fast, modes, device, tmp)
        out['details'] = details
        for mode, why in refused.items():
            out.setdefault('refused', {})[mode] = why
            row(table, f'precision {mode}', 'refused', why[:90])
        if 'onnx' in models:
            row(table, 'ONNX export + check', f'{details["onnx_export_s"]:.0f} s',
                f'logits vs PyTorch {details["onnx_max_abs_diff"]:.1e} '
                '(target <= 1e-4)')
        clips = agreement_clips(setup, args.agreement_clips)
        from s2d_mm.apis import inference_video

        def runner(model):
            return lambda: inference_video(model, clips[0], detect=False)

        fns = {'reference': runner(ref)}
        fns.update({m: runner(models[m]) for m in models})
        with torch.no_grad():
            stats, _ = time_interleaved(
                fns, warmup=args.warmup, repeats=args.repeats, device=device)
        ref_t = stats['reference'].median
        out['timing'] = {k: v.to_dict() for k, v in stats.items()}
        for name, st in stats.items():
            row(table, f'infer.py-style clip, {name}',
                f'{st.rate():.3g} clips/s (+-{100 * st.spread:.0f}%)',
                f'{st.median:.3f} s/clip, {torch.get_num_threads()} threads')
        cpu = None
        if device.type == 'cpu' and args.cpu_time:
            cpu = _one_thread_cpu_times(args, fns, models)
            out['timing_1thread_cpu'] = {k: v.to_dict()
                                         for k, v in cpu.items()}
            for name, st in cpu.items():
                row(table, f'infer.py-style clip, {name}, 1 thread',
                    f'{st.median:.3f} s CPU time/clip',
                    f'{cpu["reference"].median / st.median:.2f}x the '
                    'reference')
        # the agreement guard on fixed clips
        t0 = time.perf_counter()
        checked = [m for m in models if m == 'fp32' or not
                   args.agreement_precisions or
                   m in args.agreement_precisions.split(',')]
        probs = {m: clip_probs(models[m], clips) for m in checked}
        out['agreement_seconds'] = time.perf_counter() - t0
        p0 = probs['fp32']
        margins = np.sort(p0, 1)
        out['fp32_clips'] = dict(
            n=len(clips),
            distinct_predictions=int(len(set(p0.argmax(1).tolist()))),
            median_top1_prob=float(np.median(margins[:, -1])),
            median_top1_margin=float(np.median(margins[:, -1] -
                                               margins[:, -2])))
        fc = out['fp32_clips']
        row(table, 'agreement clips (fp32)', f'{len(clips)} clips',
            f'{fc["distinct_predictions"]} distinct predictions, median top-1 '
            f'prob {fc["median_top1_prob"]:.2f}, margin '
            f'{fc["median_top1_margin"]:.3f}')
        out['modes'] = {}
        for mode in models:
            speedup = ref_t / stats[mode].median
            a = dict(speedup_vs_reference=speedup,
                     clips_per_s=stats[mode].rate())
            if mode in probs:
                a.update(agreement(probs[mode], p0))
                agree = (f'top-1 agreement {100 * a["agreement"]:.1f}%, max '
                         f'dprob {a["max_dprob"]:.4f}')
            else:
                agree = 'top-1 agreement not measured, max dprob not measured'
            out['modes'][mode] = a
            print(f'inference speed-up vs reference ({mode}): '
                  f'{speedup:.2f}x, {agree}', flush=True)
            if cpu is not None:
                r1 = cpu['reference'].median / cpu[mode].median
                a['speedup_1thread_cpu_time'] = r1
                print(f'  same, 1 thread, CPU time ({mode}): {r1:.2f}x',
                      flush=True)
            table.append(dict(name=f'speed-up vs reference ({mode})',
                              value=f'{speedup:.2f}x', note=''))
        for m in list(models):
            del models[m]
    res['precision'] = out


def _one_thread_cpu_times(args, fns, models):
    """``fns`` timed again on one thread in process CPU time (ONNX
    Runtime sessions re-made with one thread for the duration)."""
    from s2d_mm.apis.onnx_model import OnnxRuntimeLogits
    threads = torch.get_num_threads()
    sessions = {}
    torch.set_num_threads(1)
    try:
        for name, m in models.items():
            if hasattr(m, 'onnx_session'):
                sessions[name] = m.onnx_session
                m.onnx_session = OnnxRuntimeLogits(m.onnx_session.path,
                                                   threads=1)
        with torch.no_grad():
            stats, _ = time_interleaved(fns, warmup=1, repeats=args.repeats,
                                        clock=time.process_time)
    finally:
        torch.set_num_threads(threads)
        for name, s in sessions.items():
            models[name].onnx_session = s
    return stats


def bench_int8_study(args, setup, device, fast, res, table, row):
    """Agreement with fp32 when one layer group at a time is int8."""
    from s2d_mm.apis.precision import INT8_SKIP, quantize_linear_int8
    attach_cfg(fast, setup)
    clips = agreement_clips(setup, args.agreement_clips)
    x = torch.zeros((1, 3, setup['frames'], setup['img'], setup['img']))
    macs = _linear_macs(fast, x)
    total = sum(macs.values()) or 1
    p0 = clip_probs(fast, clips)
    out = dict(clips=len(clips), groups={})
    variants = [(name, dict(only=[pat], skip=())) for name, pat in INT8_GROUPS]
    variants += [('all Linear layers', dict(skip=())),
                 ('default (INT8_SKIP kept fp32)', dict(skip=INT8_SKIP))]
    for name, kwargs in variants:
        model = copy.deepcopy(fast)
        names = quantize_linear_int8(model, **kwargs)
        share = sum(macs.get(n, 0) for n in names) / total
        a = agreement(clip_probs(model, clips), p0)
        a.update(layers=len(names), linear_flop_share=share)
        out['groups'][name] = a
        row(table, f'int8 only: {name}',
            f'{100 * a["agreement"]:.1f}% top-1',
            f'max dprob {a["max_dprob"]:.4f}, {len(names)} layers, '
            f'{100 * share:.1f}% of Linear MACs')
        del model
    res['int8_study'] = out


def _linear_macs(model, x, convs: bool = False) -> Dict[str, int]:
    """MACs of every Linear (and with ``convs`` every Conv2d) layer in one
    forward of ``x``."""
    macs, hooks = {}, []

    def linear(mod, inp, outp, name):
        macs[name] = macs.get(name, 0) + \
            inp[0].numel() // mod.in_features * mod.out_features * \
            mod.in_features

    def conv(mod, inp, outp, name):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[name] = macs.get(name, 0) + \
            outp.numel() * mod.in_channels // mod.groups * k

    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear):
            fn = linear
        elif convs and isinstance(m, torch.nn.Conv2d):
            fn = conv
        else:
            continue
        hooks.append(m.register_forward_hook(
            lambda mod, i, o, name=name, fn=fn: fn(mod, i, o, name)))
    try:
        with torch.no_grad():
            model.cls_head(model.backbone(x))
    finally:
        for h in hooks:
            h.remove()
    return macs


# --------------------------------------------------------------------------
# one-thread CPU-time rate
# --------------------------------------------------------------------------
#: parts of the forward timed by ``cpu_rate`` (module name patterns)
RATE_PARTS = (
    ('landmark network', r'^backbone\.landmark$'),
    ('patch embedding', r'^backbone\.patch_embed$'),
    ('ViT attention', r'^backbone\.layers\.\d+\.attn$'),
    ('ViT MLP', r'^backbone\.layers\.\d+\.ffn$'),
    ('ViT block norms', r'^backbone\.layers\.\d+\.ln[12]$'),
    ('TMAs', r'^backbone\.prompters\.\d+\.tma$'),
    ('MCP projections + prompt norms',
     r'^backbone\.(prompters\.\d+\.proj_\w+|prompt_norms\.\d+)$'),
)


def _thread_gemm_rate(shapes, repeats=3) -> float:
    best = 0.
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        out = torch.empty(m, n)
        torch.mm(a, b, out=out)
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            torch.mm(a, b, out=out)
            times.append(time.thread_time() - t0)
        best = max(best, 2. * m * k * n / sorted(times)[len(times) // 2])
    return best / 1e9


def test_logits(model, inputs):
    """``(B, V, ...)`` -> per-view logits (the benchmark's test forward)."""
    feats, kwargs = model.extract_feat(inputs, test_mode=True)
    return model.cls_head(feats, **kwargs)


def _sdpa_macs(module, x) -> int:
    """Q K^T and A V of an mmpretrain MultiheadAttention on ``x``."""
    b, n = x.shape[0], x.shape[1]
    return 2 * b * n * n * module.embed_dims


def bench_cpu_rate(args, setup, device, fast, ref, res, table, row,
                   gemm_shapes):
    if device.type != 'cpu':
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.zeros((1, 1, 3, setup['frames'], setup['img'],
                         setup['img'])).normal_(generator=torch.Generator()
                                                .manual_seed(0))
        lin = _linear_macs(fast, x[:, 0], convs=True)
        acc, macs, wraps = {}, {}, []
        patterns = [(name, re.compile(p)) for name, p in RATE_PARTS]
        for mod_name, m in fast.named_modules():
            part = next((n for n, p in patterns if p.search(mod_name)), None)
            if part is None:
                continue
            macs[part] = macs.get(part, 0) + sum(
                v for k, v in lin.items()
                if k == mod_name or k.startswith(mod_name + '.'))
            forward = m.forward

            def timed(*a, forward=forward, part=part, m=m, **k):
                t0 = time.thread_time()
                out = forward(*a, **k)
                acc[part] = acc.get(part, 0.) + time.thread_time() - t0
                if part == 'ViT attention' and not getattr(m, '_counted',
                                                           False):
                    macs[part] += _sdpa_macs(m, a[0])
                return out

            m.forward = timed
            wraps.append(m)
        runs = []
        with torch.no_grad():
            test_logits(fast, x)  # warm-up, and the attention MACs
            for m in wraps:
                m._counted = True
            for _ in range(max(2, args.repeats)):
                for name, model in (('fast', fast), ('reference', ref)):
                    g0 = _thread_gemm_rate(gemm_shapes, 2)
                    acc.clear()
                    t0 = time.thread_time()
                    test_logits(model, x)
                    t = time.thread_time() - t0
                    runs.append((name, t, g0, dict(acc)))
        for m in wraps:
            del m.forward
            if hasattr(m, '_counted'):
                del m._counted
    finally:
        torch.set_num_threads(threads)
    total_macs = res.get('flops', {}).get('macs')
    if not total_macs:
        from s2d_mm.models.utils.complexity import count_macs
        with torch.no_grad():
            total_macs = count_macs(fast, (x, ), fn=lambda inp: test_logits(
                fast, inp))['macs']
    out = dict(threads=1, clock='thread CPU time', runs={})
    for name in ('fast', 'reference'):
        mine = [r for r in runs if r[0] == name]
        fracs = sorted(2 * total_macs / t / 1e9 / g for _, t, g, _ in mine)
        best = min(mine, key=lambda r: r[1])
        frac = fracs[len(fracs) // 2]
        out['runs'][name] = dict(seconds=[r[1] for r in mine],
                                 gemm_gflops=[r[2] for r in mine],
                                 fraction=frac)
        row(table, f'{name} fp32 forward / GEMM rate, 1 thread CPU time',
            f'{100 * frac:.0f}%',
            f'{best[1]:.2f} s/clip, GEMM {best[2]:.1f} GFLOP/s (1 thread)'
            + (' (target >= 80%)' if name == 'fast' else ''))
    _, t, g, parts = min((r for r in runs if r[0] == 'fast'),
                         key=lambda r: r[1])
    out['parts'] = {}
    for part, _ in RATE_PARTS:
        if part not in parts:
            continue
        sec = parts[part]
        rate = 2 * macs.get(part, 0) / sec / 1e9 if sec else 0.
        out['parts'][part] = dict(seconds=sec, macs=macs.get(part, 0),
                                  rate_fraction=rate / g)
        row(table, f'  {part}', f'{100 * sec / t:.1f}% of the time',
            f'{100 * macs.get(part, 0) / total_macs:.1f}% of the MACs' +
            (f', {100 * rate / g:.0f}% of GEMM rate'
             if macs.get(part) else ''))
    res['cpu_rate'] = out


# --------------------------------------------------------------------------
# long video
# --------------------------------------------------------------------------
def write_long_video(path: str, minutes: float, fps: int, size: int) -> int:
    """A ``minutes``-long mp4 (MPEG-4) of a synthetic face: a 2 s rendered
    clip played back and forth, with a bar moving across the frame so
    that every frame differs. Returns the frame count."""
    from demo.synthetic_dfew import render_clip
    base = render_clip('Happy', np.random.default_rng(0), num_frames=2 * fps,
                       img_size=(size, size))['frames']
    loop = base + base[::-1]
    n = int(round(minutes * 60 * fps))
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (size, size))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path}')
    try:
        for i in range(n):
            f = loop[i % len(loop)].copy()
            x = (i * 3) % size
            f[-4:, x:x + 8] = 255
            writer.write(f)
    finally:
        writer.release()
    return n


def _vm_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return -1


def long_video_worker(args, setup, device, fast):
    """Child process: one ``inference_video`` over ``args.long_video_file``
    after a warm-up on a short clip; prints ``LONGVIDEO_JSON {...}``."""
    from s2d_mm.apis import inference_video
    from s2d_mm.apis.precision import apply_precision
    from s2d_mm.apis.video_reader import open_video
    attach_cfg(fast, setup)
    model = apply_precision(fast, args.long_video_precision, device=device)
    with torch.no_grad():
        inference_video(model, agreement_clips(setup, 1)[0], detect=False)
        rss0 = _vm_kib('VmRSS')
        hwm0 = _vm_kib('VmHWM')
        reader = open_video(args.long_video_file)
        t0 = time.perf_counter()
        res = inference_video(model, reader, detect=False)
        seconds = time.perf_counter() - t0
    print('LONGVIDEO_JSON ' + json.dumps(dict(
        seconds=seconds,
        frames=reader.num_frames,
        decoded=reader.num_decoded,
        backend=type(reader).__name__,
        precision=res['precision'],
        rss_before_mib=rss0 / 1024,
        peak_rss_before_mib=hwm0 / 1024,
        peak_rss_mib=_vm_kib('VmHWM') / 1024)), flush=True)


def bench_long_video(args, setup, res, table, row, script: str):
    fps = 25
    lengths = sorted({min(1.0, args.long_video_minutes),
                      float(args.long_video_minutes)})
    out = dict(fps=fps, runs={})
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in lengths:
            path = osp.join(tmp, f'long_{minutes:g}min.mp4')
            t0 = time.perf_counter()
            n = write_long_video(path, minutes, fps, setup['img'])
            gen_s = time.perf_counter() - t0
            cmd = [sys.executable, script, '--long-video-worker', path]
            cmd += [a for a in sys.argv[1:] if a != '--long-video-worker']
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  env=dict(os.environ))
            line = [ln for ln in proc.stdout.splitlines()
                    if ln.startswith('LONGVIDEO_JSON ')]
            if proc.returncode or not line:
                row(table, f'long video {minutes:g} min', 'failed',
                    (proc.stderr.strip().splitlines() or [''])[-1][:90])
                out['runs'][minutes] = dict(error=proc.stderr[-2000:])
                continue
            r = json.loads(line[-1][len('LONGVIDEO_JSON '):])
            r.update(minutes=minutes, generated_frames=n,
                     file_mib=osp.getsize(path) / 2**20,
                     generate_seconds=gen_s,
                     seconds_per_video_minute=r['seconds'] / minutes)
            out['runs'][minutes] = r
            row(table, f'long video {minutes:g} min ({n} frames, '
                f'{r["file_mib"]:.0f} MiB file)',
                f'peak RSS {r["peak_rss_mib"]:.0f} MiB',
                f'{r["seconds"]:.2f} s, {r["decoded"]} frames decoded '
                f'({r["backend"]}), {r["precision"]}, peak before the video '
                f'{r["peak_rss_before_mib"]:.0f} MiB')
    runs = [r for r in out['runs'].values() if 'error' not in r]
    if runs:
        long = max(runs, key=lambda r: r['minutes'])
        if len(runs) > 1:
            short = min(runs, key=lambda r: r['minutes'])
            out['peak_rss_growth_mib'] = (long['peak_rss_mib'] -
                                          short['peak_rss_mib'])
            row(table, 'peak RSS, long minus short video',
                f'{out["peak_rss_growth_mib"]:+.0f} MiB',
                f'{long["minutes"]:g} vs {short["minutes"]:g} min '
                '(bounded memory: ~0)')
        print(f'long video: {long["minutes"]:g} min at {fps} fps, peak RSS '
              f'{long["peak_rss_mib"]:.0f} MiB, '
              f'{long["seconds_per_video_minute"]:.2f} s per video-minute',
              flush=True)
    res['long_video'] = out

