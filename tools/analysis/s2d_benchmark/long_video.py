"""Section ``long_video``: one ``inference_video`` over a long video, in
bounded memory.

A video of ``--long-video-minutes`` at 25 fps (a rendered face, every
frame different) is generated, and a fresh process per length (a short one
of at most a minute and the long one) runs ``tools/infer.py``'s path on it:
:func:`~s2d_mm.apis.inference_video` through
:func:`~s2d_mm.apis.video_reader.open_video`, which decodes only the T
sampled frames. The rows give the peak RSS of each process, its growth
over the video (peak after minus peak before opening it: what reading the
video added; two identical processes differ by tens of MiB before they
open anything, so the peaks of two processes are not compared directly),
the frames decoded and the seconds per video-minute (one clip of T
frames per video, as ``tools/infer.py`` computes it, not a timeline).
Prints ``long video: <minutes> min at 25 fps, peak RSS <MiB> MiB,
<seconds> s per video-minute`` (:mod:`.report`).
"""
import json
import os.path as osp
import subprocess
import time
from typing import Any, Dict

import cv2
import numpy as np
import torch

from .precision import agreement_clips, attach_cfg
from .report import long_video_line
from .timing import read_status_kb

FPS = 25
TAG = 'LONGVIDEO_JSON '


def write_long_video(path: str, minutes: float, fps: int, size: int) -> int:
    """A ``minutes``-long mp4 (MPEG-4) of ``size`` px: a 2 s rendered clip
    played back and forth, with a bar moving across the frame so that
    every frame differs. Returns the frame count."""
    from .clone import import_demo
    import_demo()
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


def run_video(model, setup, path: str) -> Dict[str, Any]:
    """``inference_video`` of a prepared ``model`` over the video ``path``
    after a warm-up on a short in-memory clip: seconds, frames in the file
    and decoded, and the resident set (MiB) before and at the peak."""
    from s2d_mm.apis import inference_video
    from s2d_mm.apis.video_reader import open_video
    with torch.no_grad():
        inference_video(model, agreement_clips(setup, 1)[0], detect=False)
        rss0 = read_status_kb('VmRSS')
        hwm0 = read_status_kb('VmHWM')
        reader = open_video(path)
        t0 = time.perf_counter()
        res = inference_video(model, reader, detect=False)
        seconds = time.perf_counter() - t0
    return dict(seconds=seconds, frames=reader.num_frames,
                decoded=reader.num_decoded, backend=type(reader).__name__,
                precision=res['precision'], rss_before_mib=rss0 / 1024,
                peak_rss_before_mib=hwm0 / 1024,
                peak_rss_mib=read_status_kb('VmHWM') / 1024)


def long_video_worker(args, setup, device, fast) -> Dict[str, Any]:
    """The ``--long-video-worker FILE`` process: :func:`run_video` in
    ``--long-video-precision``, printed as ``LONGVIDEO_JSON {...}``."""
    from s2d_mm.apis.precision import apply_precision
    attach_cfg(fast, setup)
    model = apply_precision(fast, args.long_video_precision, device=device)
    out = run_video(model, setup, args.long_video_file)
    print(TAG + json.dumps(out, default=str), flush=True)
    return out


def bench_long_video(bench):
    a = bench.args
    lengths = sorted({min(1.0, a.long_video_minutes),
                      float(a.long_video_minutes)})
    out = dict(fps=FPS, runs={})
    for minutes in lengths:
        path = osp.join(bench.workdir, f'long_{minutes:g}min.mp4')
        t0 = time.perf_counter()
        n = write_long_video(path, minutes, FPS, bench.setup['img'])
        gen_s = time.perf_counter() - t0
        proc = subprocess.run(
            bench.worker_command('--long-video-worker', path),
            capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
        if proc.returncode or not line:
            bench.row(f'long video {minutes:g} min', 'failed',
                      ''.join(proc.stderr.strip().splitlines()[-1:])[:90])
            out['runs'][minutes] = dict(error=proc.stderr[-2000:])
            continue
        r = json.loads(line[-1][len(TAG):])
        r.update(minutes=minutes, generated_frames=n,
                 file_mib=osp.getsize(path) / 2**20, generate_seconds=gen_s,
                 seconds_per_video_minute=r['seconds'] / minutes,
                 video_growth_mib=r['peak_rss_mib'] - r['peak_rss_before_mib'])
        out['runs'][minutes] = r
        bench.row(f'long video {minutes:g} min ({n} frames, '
                  f'{r["file_mib"]:.0f} MiB file)',
                  f'peak RSS {r["peak_rss_mib"]:.0f} MiB',
                  f'+{r["video_growth_mib"]:.0f} MiB over the video, '
                  f'{r["seconds"]:.2f} s, {r["decoded"]} frames decoded '
                  f'({r["backend"]}), {r["precision"]}')
    runs = [r for r in out['runs'].values() if 'error' not in r]
    if runs:
        long = max(runs, key=lambda r: r['minutes'])
        if len(runs) > 1:
            short = min(runs, key=lambda r: r['minutes'])
            out['growth_long_minus_short_mib'] = (long['video_growth_mib'] -
                                                  short['video_growth_mib'])
            bench.row('RSS growth over the video, long minus short',
                      f'{out["growth_long_minus_short_mib"]:+.0f} MiB',
                      f'{long["minutes"]:g} vs {short["minutes"]:g} min '
                      '(bounded memory: ~0)')
        bench.report.say(long_video_line(long['minutes'], FPS,
                                         long['peak_rss_mib'],
                                         long['seconds_per_video_minute']))
    bench.res['long_video'] = out
