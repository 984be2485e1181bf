"""Sections ``precision`` and ``int8_study``.

- ``precision``: ``tools/infer.py``-style inference (one clip of face
  crops in memory -> :func:`~s2d_mm.apis.inference_video`, one view, no
  face detection) in every mode of ``--precisions``
  (:mod:`s2d_mm.apis.precision`) against the release-style reference
  (fp32, eager attention, landmark net in fp32), the runs alternating;
  with ``--cpu-time`` (default) the same once more on one thread in
  process CPU time. Then the agreement guard: top-1 agreement with fp32
  and max |dprob| over ``--agreement-clips`` fixed clips (synthetic faces
  of the demo's generator and structured noise). Prints ``precision auto
  picked: <mode>`` and one ``inference speed-up vs reference (<mode>):
  <r>x, top-1 agreement <pct>%, max dprob <v>`` line per mode
  (:mod:`.report`).
- ``int8_study``: the agreement when only one group of Linear layers is
  quantized (ViT attention, ViT MLP, TMAs, MCP projections, landmark
  projection, classifier), with each group's share of the Linear MACs:
  what :data:`s2d_mm.apis.precision.INT8_SKIP` is based on.
"""
import copy
import os.path as osp
import tempfile
import time
from typing import Dict, List

import cv2
import numpy as np
import torch

from .models import layer_macs
from .report import auto_line, speedup_line
from .timing import time_interleaved

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

#: seed of the agreement clips; the demo dataset draws clip k from
#: ``default_rng([0, k])`` (its default seed), so these are other faces
AGREEMENT_SEED = 2312


# --------------------------------------------------------------------------
# models and clips
# --------------------------------------------------------------------------
def infer_pipeline(setup) -> List[dict]:
    """One view per clip, as ``tools/infer.py`` on face crops: T frames
    resized to the model's input (no test-time crops)."""
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


def agreement_clips(setup, n: int,
                    seed: int = AGREEMENT_SEED) -> List[List[np.ndarray]]:
    """``n`` fixed clips of T BGR frames ``(S, S, 3)``: even ones a
    synthetic face of the demo's generator (the seven DFEW expressions in
    turn), odd ones structured noise (a random low-resolution picture
    changing over time, upsampled, plus pixel noise)."""
    from .clone import import_demo
    import_demo()
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
    reason; details (what each runs, the ONNX export's check)."""
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
    """Top-1 agreement (fraction) and max |dprob| of ``p`` vs ``p0``
    ``(N, C)``."""
    return dict(
        agreement=float((p.argmax(1) == p0.argmax(1)).mean()),
        max_dprob=float(np.abs(p - p0).max()))


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------
def _modes(args) -> List[str]:
    modes = [m for m in args.precisions.split(',') if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f'--precisions: unknown {sorted(unknown)}; choose '
                         f'from {MODES}')
    if 'fp32' not in modes:
        modes.insert(0, 'fp32')  # the yardstick of the agreement
    return modes


def bench_precision(bench):
    from s2d_mm.apis import inference_video
    from s2d_mm.apis.precision import check_precision
    a, device, setup, fast = bench.args, bench.device, bench.setup, bench.fast
    modes = _modes(a)
    out = dict(pipeline='one view, face crops in memory, no detection')
    auto = check_precision('auto', device, fast)
    out['auto'] = dict(mode=auto.mode, reason=auto.reason)
    bench.report.say(auto_line(auto.mode))
    bench.row('precision auto', auto.mode, auto.reason)
    if auto.mode not in modes:
        modes.append(auto.mode)
    attach_cfg(fast, setup)
    attach_cfg(bench.ref, setup)
    with tempfile.TemporaryDirectory(dir=bench.workdir) as tmp:
        models, refused, details = build_modes(fast, modes, device, tmp)
        out['details'] = details
        for mode, why in refused.items():
            out.setdefault('refused', {})[mode] = why
            bench.row(f'precision {mode}', 'refused', why[:90])
        if 'onnx' in models:
            bench.row('ONNX export + check',
                      f'{details["onnx_export_s"]:.0f} s',
                      f'logits vs PyTorch {details["onnx_max_abs_diff"]:.1e} '
                      '(target <= 1e-4)')
        clips = agreement_clips(setup, a.agreement_clips)

        def runner(model):
            return lambda: inference_video(model, clips[0], detect=False)

        fns = {'reference': runner(bench.ref)}
        fns.update({m: runner(models[m]) for m in models})
        with torch.no_grad():
            stats, _ = time_interleaved(fns, warmup=a.warmup,
                                        repeats=a.repeats, device=device)
        out['timing'] = {k: v.to_dict() for k, v in stats.items()}
        for name, st in stats.items():
            bench.row(f'infer.py-style clip, {name}',
                      f'{st.rate():.3g} clips/s (+-{100 * st.spread:.0f}%)',
                      f'{st.median:.3f} s/clip, {torch.get_num_threads()} '
                      'threads')
        cpu = None
        if device.type == 'cpu' and a.cpu_time:
            cpu = _one_thread_cpu_times(a, fns, models)
            out['timing_1thread_cpu'] = {k: v.to_dict()
                                         for k, v in cpu.items()}
            for name, st in cpu.items():
                bench.row(f'infer.py-style clip, {name}, 1 thread',
                          f'{st.median:.3f} s CPU time/clip',
                          f'{cpu["reference"].median / st.median:.2f}x the '
                          'reference')
        # the agreement guard on fixed clips
        t0 = time.perf_counter()
        checked = [m for m in models if m == 'fp32' or not
                   a.agreement_precisions or
                   m in a.agreement_precisions.split(',')]
        probs = {m: clip_probs(models[m], clips) for m in checked}
        out['agreement_seconds'] = time.perf_counter() - t0
        out['fp32_clips'] = _clip_summary(probs['fp32'])
        fc = out['fp32_clips']
        bench.row('agreement clips (fp32)', f'{len(clips)} clips',
                  f'{fc["distinct_predictions"]} distinct predictions, median '
                  f'top-1 prob {fc["median_top1_prob"]:.2f}, margin '
                  f'{fc["median_top1_margin"]:.3f}')
        out['modes'] = {}
        ref_t = stats['reference'].median
        for mode in models:
            m = dict(speedup_vs_reference=ref_t / stats[mode].median,
                     clips_per_s=stats[mode].rate())
            if mode in probs:
                m.update(agreement(probs[mode], probs['fp32']))
            out['modes'][mode] = m
            bench.report.say(speedup_line(mode, m['speedup_vs_reference'],
                                          m.get('agreement'),
                                          m.get('max_dprob')))
            if cpu is not None:
                r1 = cpu['reference'].median / cpu[mode].median
                m['speedup_1thread_cpu_time'] = r1
                bench.report.say(f'  same, 1 thread, CPU time ({mode}): '
                                 f'{r1:.2f}x')
            bench.report.table.append(dict(
                name=f'speed-up vs reference ({mode})',
                value=f'{m["speedup_vs_reference"]:.2f}x', note=''))
        models.clear()
    bench.res['precision'] = out


def _clip_summary(p0: np.ndarray) -> Dict[str, float]:
    """How decided fp32 is on the clips: distinct top-1 classes, median
    top-1 probability and margin to the second (small margins make the
    agreement a hard test)."""
    s = np.sort(p0, 1)
    return dict(n=len(p0),
                distinct_predictions=int(len(set(p0.argmax(1).tolist()))),
                median_top1_prob=float(np.median(s[:, -1])),
                median_top1_margin=float(np.median(s[:, -1] - s[:, -2])))


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


def bench_int8_study(bench):
    """Agreement with fp32 when one layer group at a time is int8."""
    from s2d_mm.apis.precision import INT8_SKIP, quantize_linear_int8
    setup, fast = bench.setup, bench.fast
    attach_cfg(fast, setup)
    clips = agreement_clips(setup, bench.args.agreement_clips)
    x = torch.zeros((1, 3, setup['frames'], setup['img'], setup['img']))
    macs = layer_macs(fast, x)
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
        g = agreement(clip_probs(model, clips), p0)
        g.update(layers=len(names), linear_flop_share=share)
        out['groups'][name] = g
        bench.row(f'int8 only: {name}', f'{100 * g["agreement"]:.1f}% top-1',
                  f'max dprob {g["max_dprob"]:.4f}, {len(names)} layers, '
                  f'{100 * share:.1f}% of Linear MACs')
        del model
    bench.res['int8_study'] = out
