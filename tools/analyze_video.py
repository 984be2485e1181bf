"""Emotion timeline of a whole video, every face, with a trained S2D model.

    python tools/analyze_video.py CONFIG CHECKPOINT VIDEO [--stride 0.5]
        [--out-dir DIR] [--annotated] [--detector haar|yunet|mmdet]
        [--det-model yunet.onnx] [--det-config C --det-checkpoint K]
        [--detect-every 5] [--max-missed 3] [--no-detect]

Slides the model's window over the whole video (its frames at the frame
interval of its training pipeline, or ``--window SEC``) every ``--stride``
seconds, for every face track, and writes into ``--out-dir``:

- ``timeline.csv`` / ``timeline.json``: one row per window and track:
  ``track_id, t_start, t_end, t_center, frame_start, frame_end``, one
  probability column per class, ``top_class`` (the JSON adds the tracks'
  detections, the window settings and the run's figures);
- ``timeline.png``: class probabilities over time per track with a strip of
  face crops;
- ``annotated.mp4`` with ``--annotated``: the video with boxes, track ids,
  top classes and bars.

Exit status: 0 on success, 1 when no face track lasts one window (or the
video cannot be read), 2 for bad arguments or a detector that cannot be set
up.
"""
import argparse
import os.path as osp
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='S2D emotion timeline of a video, per face')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('video', help='video file or folder of frames')
    parser.add_argument('--out-dir', help='output folder (default: '
                        'work_dirs/analyze_video/<video name>)')
    parser.add_argument('--stride', type=float, default=0.5,
                        help='seconds between window starts')
    parser.add_argument('--window', type=float, default=None,
                        help='seconds one window spans (its frames spread '
                        'evenly); default: the frame interval of the '
                        "model's training pipeline")
    parser.add_argument('--batch-size', type=int, default=8,
                        help='windows per forward pass')
    parser.add_argument('--annotated', action='store_true',
                        help='also write annotated.mp4')
    parser.add_argument('--no-detect', action='store_true',
                        help='the frames are face crops already (one track)')
    parser.add_argument('--detector', choices=['haar', 'yunet', 'mmdet'],
                        default='haar', help='face detector (default: '
                        "OpenCV's Haar cascade)")
    parser.add_argument('--det-model', help='YuNet ONNX file '
                        '(face_detection_yunet_2023mar.onnx)')
    parser.add_argument('--det-config', help='mmdet detector config')
    parser.add_argument('--det-checkpoint', help='mmdet detector checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=None,
                        help='smallest face score kept (YuNet, mmdet)')
    parser.add_argument('--detect-every', type=int, default=5,
                        help='run the detector every N frames')
    parser.add_argument('--max-missed', type=int, default=3,
                        help='end a track after K detection rounds without '
                        'it (shorter gaps are bridged)')
    parser.add_argument('--iou-thr', type=float, default=0.3,
                        help='smallest IoU linking a detection to a track')
    parser.add_argument('--enlarge', type=float, default=1.3,
                        help='crop side relative to the face box')
    parser.add_argument('--fps', type=float, default=None,
                        help='frame rate of a frame folder (default 25)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='config overrides, key=value')
    args = parser.parse_args(argv)
    if args.stride <= 0:
        parser.error('--stride must be > 0')
    if args.detect_every < 1 or args.max_missed < 1:
        parser.error('--detect-every and --max-missed must be >= 1')
    return args


def detector_cfg(args):
    """The face detector config the arguments ask for."""
    if args.detector == 'haar':
        return dict(type='HaarFaceDetector')
    extra = {} if args.det_score_thr is None else dict(
        score_thr=args.det_score_thr)
    if args.detector == 'yunet':
        return dict(type='YuNetFaceDetector', model=args.det_model, **extra)
    return dict(type='MMDetFaceDetector', config=args.det_config,
                checkpoint=args.det_checkpoint, device=args.device, **extra)


def _parse_cfg_options(options):
    if not options:
        return None
    from mmengine.config import DictAction
    ns = argparse.Namespace()
    DictAction(option_strings=[], dest='opts')(None, ns, options)
    return ns.opts


def main(argv=None):
    args = parse_args(argv)
    if not osp.exists(args.video):
        print(f'error: video not found: {args.video}', file=sys.stderr)
        return 2
    from s2d_mm.apis import init_model
    from s2d_mm.video_analysis import (
        FaceDetectorSetupError,
        NoFaceFoundError,
        analyze_video,
        build_face_detector,
        plot_timeline,
        write_annotated_video,
    )

    detector = None
    if not args.no_detect:
        try:
            detector = build_face_detector(detector_cfg(args))
        except FaceDetectorSetupError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
    name = osp.splitext(osp.basename(osp.normpath(args.video)))[0]
    out_dir = args.out_dir or osp.join('work_dirs', 'analyze_video', name)
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=_parse_cfg_options(args.cfg_options))
    try:
        timeline = analyze_video(
            model, args.video, stride=args.stride, window=args.window,
            detect=not args.no_detect, detector=detector,
            detect_every=args.detect_every, max_missed=args.max_missed,
            iou_thr=args.iou_thr, enlarge=args.enlarge,
            batch_size=args.batch_size, fps=args.fps,
            progress=not args.no_progress)
    except NoFaceFoundError as err:
        print(f'{err}. No timeline written (use --no-detect if the frames '
              'are already face crops).', file=sys.stderr)
        return 1
    except ValueError as err:  # unreadable video
        print(f'error: {err}', file=sys.stderr)
        return 1
    outputs = [
        timeline.to_csv(osp.join(out_dir, 'timeline.csv')),
        timeline.to_json(osp.join(out_dir, 'timeline.json')),
        plot_timeline(timeline, osp.join(out_dir, 'timeline.png'),
                      title=name)
    ]
    if args.annotated:
        t0 = time.perf_counter()
        outputs.append(write_annotated_video(
            timeline, args.video, osp.join(out_dir, 'annotated.mp4')))
        print(f'annotated video written in {time.perf_counter() - t0:.1f} s')
    s, w = timeline.stats, timeline.window
    if w['stride_frames'] > w['span_frames']:
        print(f'note: the stride ({w["stride_s"]:.2f} s) is longer than a '
              f'window ({w["span_s"]:.2f} s): the rows sample the video with '
              'gaps between windows; lower --stride to cover every moment')
    print(f'{name}: {timeline.duration:.1f} s, {timeline.num_frames} frames '
          f'at {timeline.fps:g} fps, {s["num_tracks"]} face track(s) '
          f'(detector: {timeline.detector})')
    for t in timeline.tracks:
        rows = timeline.rows_of(t['track_id'])
        tops = {}
        for r in rows:
            tops[r['top_class']] = tops.get(r['top_class'], 0) + 1
        most = ', '.join(f'{c} {n}' for c, n in sorted(
            tops.items(), key=lambda kv: -kv[1])[:3])
        print(f'  track {t["track_id"]}: {t["first_frame"] / timeline.fps:.1f}'
              f'-{(t["last_frame"] + 1) / timeline.fps:.1f} s, '
              f'{len(rows)} windows; top classes: {most}')
    print(f'{s["num_windows"]} windows of {w["num_frames"]} frames '
          f'({w["span_s"]:.2f} s, every {w["stride_s"]:.2f} s): '
          f'{s["windows_per_s"]:.2f} windows/s ({s["model_seconds"]:.1f} s '
          f'for the windows, {s["total_seconds"]:.1f} s with detection; '
          f'{s["cpu_seconds"]:.1f} s CPU time); {s["frames_decoded"]} frames '
          f'decoded, at most {s["peak_frames_held"]} held')
    print('written: ' + ', '.join(outputs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
