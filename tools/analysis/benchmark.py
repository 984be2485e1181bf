#!/usr/bin/env python
"""Speed and memory of S2D, side by side with the release-style reference.

Usage::

    python tools/analysis/benchmark.py --tiny            # smoke run
    python tools/analysis/benchmark.py                   # configs/s2d_dfew.py
    python tools/analysis/benchmark.py --config CFG.py   # another config
    python tools/analysis/benchmark.py --sections forward,flops --json out.json

The model and pipelines come from ``--config`` (default the shipped
``configs/s2d_dfew.py``: ViT-B/16, 16 frames of 224 px; ``--tiny``: the
tiny model of ``configs/_base_/models/s2d_tiny.py``), with random weights
unless ``--checkpoint``. The run prints the machine first (CPU model, ISA
flags, torch's BLAS/oneDNN and threads), then one row per figure; every
timing is ``--warmup`` untimed runs and ``--repeats`` timed ones (median,
spread ``(max-min)/median``), and compared paths alternate run by run so
that a shared machine slows them alike. Sections (``--sections``; each is
described in its module of ``tools/analysis/s2d_benchmark/``):

===============  =====================================================
machine          fp32 GEMM rate now, in this process (forward.py)
forward          clips/s of the test forward, fp32 / bf16, vs the
                 reference; logits must match (forward.py)
flops            MACs per clip, forward rate / GEMM rate (forward.py)
train            training it/s with the SDL refresh, peak memory,
                 activation checkpointing (training.py)
e2e              test protocol on a generated DFEW layout (e2e.py)
data             training data pipeline clips/s (e2e.py)
landmark_cache   landmark net vs its feature cache (forward.py)
cpu_rate         one-thread CPU-time rate per part (cpu_rate.py)
precision        infer.py-style speed and agreement per inference
                 precision, auto's pick (precision.py)
modes            every native mode and auto (measured afresh) on one
                 clip, forward GFLOP/s against the fp32 / bf16 GEMM
                 rates of the same run (modes.py)
long_video       peak RSS and time over a generated long video
                 (long_video.py)
int8_study       agreement per int8 layer group (precision.py; only
                 when asked for)
===============  =====================================================

Lines that scripts read (exact formats in ``s2d_benchmark/report.py``):
``precision auto picked: <mode>``, ``inference speed-up vs reference
(<mode>): <ratio>x, top-1 agreement <pct>%, max dprob <value>`` and
``long video: <minutes> min at 25 fps, peak RSS <MiB> MiB, <seconds> s per
video-minute``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

import torch

# s2d_benchmark/ sits next to this file (the script's folder is on the
# path); it takes the demo's face renderer (demo/, for the agreement clips,
# the long video and the DFEW layout) from the clone (s2d_benchmark.clone)
from s2d_benchmark import cpu_rate, e2e, forward, long_video, modes, precision, training
from s2d_benchmark.models import Bench, build_model, build_pair, load_setup, load_weights
from s2d_benchmark.report import Report

import s2d_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: section name -> function of a Bench, in the order they run
SECTIONS = {
    'machine': forward.bench_machine,
    'forward': forward.bench_forward,
    'flops': forward.bench_flops,
    'train': training.bench_train,
    'e2e': e2e.bench_e2e,
    'data': e2e.bench_data,
    'landmark_cache': forward.bench_landmark_cache,
    'cpu_rate': cpu_rate.bench_cpu_rate,
    'precision': precision.bench_precision,
    'modes': modes.bench_modes,
    'int8_study': precision.bench_int8_study,
    'long_video': long_video.bench_long_video,
}
#: what runs without --sections (the int8 layer study is asked for)
DEFAULT_SECTIONS = [s for s in SECTIONS if s != 'int8_study']


def parse_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', help='project config (model + pipelines); '
                   'default: configs/s2d_dfew.py (ViT-B/16, 16x224)')
    p.add_argument('--tiny', action='store_true',
                   help='the tiny model (configs/_base_/models/s2d_tiny.py) '
                   'with the default pipelines: a quick check of the script')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--sections', default=','.join(DEFAULT_SECTIONS),
                   help=f'comma-separated subset of {list(SECTIONS)} '
                   '(default: all but int8_study)')
    p.add_argument('--checkpoint', help='weights for the model of --config '
                   '(strict); default: random weights (speed does not '
                   'depend on them, the agreement figures do)')
    p.add_argument('--num-classes', type=int, default=None,
                   help="default: the config's")
    p.add_argument('--frames', type=int, default=None,
                   help="frames per clip (default: the config's)")
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--repeats', type=int, default=None,
                   help='timed runs per figure; default 3 (2 with --tiny)')
    p.add_argument('--json', help='write all figures to this JSON file')
    g = p.add_argument_group('forward')
    g.add_argument('--no-bf16', dest='bf16', action='store_false',
                   help='forward: fp32 only')
    g.add_argument('--plain-vit', action='store_true',
                   help='also time a plain mmpretrain ViT on the same frames')
    g.add_argument('--compile', action='store_true',
                   help='also time the forward under torch.compile')
    g = p.add_argument_group('train, e2e, data')
    g.add_argument('--train-batch', type=int, default=None,
                   help='default: 2 (tiny / GPU), 1 (full model on CPU)')
    g.add_argument('--train-repeats', type=int, default=None)
    g.add_argument('--no-train-memory', dest='train_memory',
                   action='store_false',
                   help='train: skip the peak-memory measurement')
    g.add_argument('--workers', type=int, default=2,
                   help='workers of the data-pipeline measurement')
    g.add_argument('--e2e-workers', type=int, default=0)
    g.add_argument('--e2e-repeats', type=int, default=1)
    g.add_argument('--e2e-bf16', action='store_true',
                   help='end-to-end test under bf16 autocast')
    g.add_argument('--e2e-videos', type=int, default=None,
                   help='test videos timed end to end (default: all with '
                   '--tiny, 4 otherwise)')
    g.add_argument('--test-per-class', type=int, default=1,
                   help='test videos per class of the generated DFEW set')
    g.add_argument('--train-per-class', type=int, default=2)
    g.add_argument('--video-frames', type=int, default=None,
                   help='frames per generated video (default: clip length, '
                   "as DFEW's clip_224x224_16f)")
    g.add_argument('--data-clips', type=int, default=None)
    g = p.add_argument_group('precision, modes, int8_study, long_video')
    g.add_argument('--precisions', default='fp32,bf16,int8,onnx',
                   help='inference precisions of the precision section '
                   '(bf16 is refused where not native)')
    g.add_argument('--agreement-clips', type=int, default=100,
                   help='fixed clips of the agreement guard')
    g.add_argument('--agreement-precisions', default=None,
                   help='precisions whose agreement is measured (default: '
                   'all of --precisions)')
    g.add_argument('--no-cpu-time', dest='cpu_time', action='store_false',
                   help='precision: skip the one-thread CPU-time timing')
    g.add_argument('--profile', action='store_true',
                   help='modes: torch profiler table per bf16 path')
    g.add_argument('--long-video-minutes', type=float, default=10.,
                   help='length of the generated long video (25 fps)')
    g.add_argument('--long-video-precision', default='auto',
                   help='precision of the long-video run')
    p.add_argument('--memory-worker', action='store_true',
                   help=argparse.SUPPRESS)
    p.add_argument('--long-video-worker', dest='long_video_file',
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.argv = argv  # what worker processes are started with
    cuda = args.device.startswith('cuda')
    if args.repeats is None:
        args.repeats = 2 if args.tiny else 3
    if args.train_batch is None:
        args.train_batch = 2 if (args.tiny or cuda) else 1
    if args.train_repeats is None:
        args.train_repeats = args.repeats if (args.tiny or cuda) else 2
    if args.e2e_videos is None and not args.tiny:
        args.e2e_videos = 4
    if args.data_clips is None:
        args.data_clips = 8 if args.tiny else 16
    unknown = set(args.sections.split(',')) - set(SECTIONS)
    if unknown:
        p.error(f'unknown sections {sorted(unknown)}; choose from '
                f'{list(SECTIONS)}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    # the current logger: keeps weight-init reports out of the table
    MMLogger.get_instance('s2d_benchmark', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    setup = load_setup(args.config, args.tiny, args.num_classes,
                       args.frames)
    if args.memory_worker:
        training.memory_worker(args, setup, device)
        return None
    if args.long_video_file:
        fast = build_model(setup['model'], device)
        load_weights(args.checkpoint, fast)
        long_video.long_video_worker(args, setup, device, fast)
        return None
    report = Report()
    res = report.res
    res.update(config=setup['config'], device=str(device),
               torch=torch.__version__, threads=torch.get_num_threads(),
               cpu_count=os.cpu_count(), section_seconds={})
    report.header(f'S2D benchmark: {osp.relpath(setup["config"], REPO)} on '
                  f'{device}, {res["threads"]} threads', device)
    t_start = time.perf_counter()
    fast, ref = build_pair(setup['model'], device)
    load_weights(args.checkpoint, fast, ref)
    with tempfile.TemporaryDirectory() as workdir:
        bench = Bench(args, setup, device, fast, ref, report, workdir)
        for name in [s for s in SECTIONS if s in args.sections.split(',')]:
            t0 = time.perf_counter()
            SECTIONS[name](bench)
            res['section_seconds'][name] = time.perf_counter() - t0
            report.say(f'  [{name}: {res["section_seconds"][name]:.0f} s]')
    res['table'] = report.table
    res['total_seconds'] = time.perf_counter() - t_start
    res['load_avg_end'] = (
        os.getloadavg() if hasattr(os, 'getloadavg') else None)
    report.say(f'done in {res["total_seconds"]:.0f} s, load average now '
               f'{res["load_avg_end"]}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1, default=str)
    return res


if __name__ == '__main__':
    main()
