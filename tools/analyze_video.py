"""Emotion timelines of videos, every face, with a trained S2D model.

    python tools/analyze_video.py CONFIG CHECKPOINT INPUT [INPUT ...]
        [--out-dir work_dirs/analyze_video] [--stride 0.5] [--annotated]
        [--precision auto|fp32|bf16|int8|onnx] [--device cuda:0]
        [--detector mtcnn|haar|yunet|mmdet] [--min-track-seconds 1]

INPUT: video files or frame folders, folders of them, glob patterns
(quoted) or list files (``.txt``/``.lst``, one video per line). For each
video the model's window (its frames at the frame interval of its training
pipeline, or ``--window SEC``) slides every ``--stride`` seconds over every
confirmed face track, and ``OUT/<video name>/`` gets:

- ``timeline.csv`` / ``timeline.json``: one row per window and track:
  ``track_id, t_start, t_end, t_center, frame_start, frame_end``, one
  probability column per class, ``top_class`` (the JSON adds the tracks,
  the dropped tracks with the reason, the window settings and the run's
  figures);
- ``timeline.png``: class probabilities over time per track with a strip of
  face crops; ``annotated.mp4`` with ``--annotated``.

``OUT/summary.csv``: per video and track, duration, tracks, windows, the
mean probability per class and the status (``ok``, ``no_face``,
``unreadable``, ``error``). A run can be resumed: finished videos are
skipped, half-written ones redone. ``tools/dist_analyze.sh`` shards the
videos over processes / GPUs.

Exit status: 0 when every video was analysed; 1 when one or more failed
(each is reported and the others go on) or an input names no video; 2 for
bad arguments, a detector that cannot be set up or a precision this machine
does not run natively. Every error is one line, without a traceback.
"""
import argparse
import os
import os.path as osp
import sys

from s2d_mm.utils.cli_args import add_cfg_options
from s2d_mm.video_analysis.face_search_args import (add_face_search_args,
                                                    check_face_search_args,
                                                    face_detector_cfg)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='S2D emotion timelines of videos, per face')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', help='videos, frame folders, '
                        'folders of them, glob patterns or list files')
    parser.add_argument('--out-dir', default='work_dirs/analyze_video',
                        help='output folder: one sub-folder per video and '
                        'summary.csv')
    parser.add_argument('--stride', type=float, default=0.5,
                        help='seconds between window starts')
    parser.add_argument('--window', type=float, default=None,
                        help='seconds one window spans (its frames spread '
                        'evenly); default: the frame interval of the '
                        "model's training pipeline")
    parser.add_argument('--batch-size', type=int, default=8,
                        help='windows per forward pass (across tracks)')
    parser.add_argument('--precision', default='fp32',
                        choices=['auto', 'fp32', 'bf16', 'int8', 'onnx'],
                        help='inference precision (s2d_mm.apis.precision)')
    parser.add_argument('--onnx-file', help='exported model for --precision '
                        'onnx (default: exported now)')
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0 '
                        '(default: cuda:0 when there is a GPU, else cpu)')
    parser.add_argument('--annotated', action='store_true',
                        help='also write annotated.mp4 per video')
    parser.add_argument('--no-detect', action='store_true',
                        help='the frames are face crops already (one track)')
    add_face_search_args(parser)
    parser.add_argument('--min-track-seconds', type=float, default=1.0,
                        help='shortest confirmed track')
    parser.add_argument('--fps', type=float, default=None,
                        help='frame rate of frame folders (default 25)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='pytorch: one shard of the '
                        'videos per process (torchrun, dist_analyze.sh)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars')
    add_cfg_options(parser, help='model config overrides, key=value')
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args


def _check_args(parser, args) -> None:
    if args.stride <= 0:
        parser.error('--stride must be > 0')
    if args.window is not None and args.window <= 0:
        parser.error('--window must be > 0')
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.min_track_seconds < 0:
        parser.error('--min-track-seconds must be >= 0')
    check_face_search_args(parser, args)
    if args.onnx_file and args.precision != 'onnx':
        parser.error('--onnx-file goes with --precision onnx')


def setup_shard(args):
    """``(rank, world_size, device)``; under ``--launcher pytorch`` joins
    the process group (gloo on CPU, NCCL on GPUs) and takes GPU
    ``LOCAL_RANK``."""
    import torch
    device = args.device or ('cuda:0' if torch.cuda.is_available() else
                             'cpu')
    if args.launcher == 'none':
        return 0, 1, device
    import datetime

    import torch.distributed as dist
    local = int(os.environ.get('LOCAL_RANK', 0))
    if device.startswith('cuda'):
        device = f'cuda:{local}'
        torch.cuda.set_device(local)
    # shards finish at different times: the merge waits up to a day
    dist.init_process_group('nccl' if device.startswith('cuda') else 'gloo',
                            timeout=datetime.timedelta(hours=24))
    return dist.get_rank(), dist.get_world_size(), device


def analyze_kwargs(args, detector) -> dict:
    """Options of :func:`s2d_mm.video_analysis.analyze_video`."""
    return dict(
        stride=args.stride, window=args.window, detect=not args.no_detect,
        detector=detector, batch_size=args.batch_size, fps=args.fps,
        enlarge=args.enlarge, progress=not args.no_progress,
        track_cfg=dict(
            detect_every=args.detect_every, max_missed=args.max_missed,
            iou_thr=args.iou_thr, min_track_seconds=args.min_track_seconds,
            min_hit_share=args.min_hit_share, min_score=args.min_score,
            reid_gap_seconds=args.reid_gap or None))


def load_model(args, device):
    """The model in the asked precision, or a one-line error."""
    from s2d_mm.apis import init_model
    from s2d_mm.apis.precision import PrecisionNotSupportedError
    try:
        return init_model(args.config, args.checkpoint, device=device,
                          cfg_options=args.cfg_options,
                          precision=args.precision,
                          onnx_file=args.onnx_file), None
    except PrecisionNotSupportedError as err:
        return None, str(err)


def report(result: dict, merged: str, out_dir: str) -> int:
    """Final lines (every shard's videos, from the merged summary); the
    exit status: 1 when a video failed."""
    import csv
    status = {}
    with open(merged, newline='') as f:
        for row in csv.DictReader(f):
            status[row['video']] = row['status']
    counts = {s: list(status.values()).count(s) for s in sorted(
        set(status.values()))}
    print(f'{len(status)} video(s): ' + ', '.join(
        f'{n} {s}' for s, n in counts.items()) +
        f' ({len(result["skipped"])} of this process finished before); '
        f'summary: {merged}; outputs in {out_dir}/<video name>/')
    return 0 if set(counts) <= {'ok'} else 1


def main(argv=None):
    args = parse_args(argv)
    from s2d_mm.video_analysis import (FaceDetectorSetupError, analyze_video,
                                       build_face_detector, timeline_classes)
    from s2d_mm.video_analysis.study import (analyze_study, collect_videos,
                                             merge_summaries, write_outputs)
    try:
        videos = collect_videos(args.inputs)
    except (ValueError, OSError) as err:  # nothing to analyse
        print(f'error: {err}', file=sys.stderr)
        return 1
    rank, world, device = setup_shard(args)
    detector = None
    if not args.no_detect:
        try:
            detector = build_face_detector(face_detector_cfg(args, device))
        except FaceDetectorSetupError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
    model, err = load_model(args, device)
    if model is None:
        print(f'error: {err}', file=sys.stderr)
        return 2
    kwargs = analyze_kwargs(args, detector)
    result = analyze_study(
        lambda video: analyze_video(model, video, **kwargs), videos,
        args.out_dir, timeline_classes(model),
        write=lambda tl, folder, name: write_outputs(
            tl, folder, name, annotated=args.annotated),
        shard=(rank, world))
    merged = result['summary']
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        merged = osp.join(args.out_dir, 'summary.csv')
        if rank == 0:
            merge_summaries([osp.join(args.out_dir, f'summary.rank{r}.csv')
                             for r in range(world)], merged, videos)
        dist.barrier()
        dist.destroy_process_group()
    return report(result, merged, args.out_dir) if rank == 0 else \
        int(bool(result['failed']))


if __name__ == '__main__':
    sys.exit(main())
