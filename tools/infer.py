"""Facial expression of one's own videos with a trained S2D model.

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out result.json]
        [--out-video vis.mp4] [--show] [--no-detect] [--topk 3]
        [--detector mtcnn|haar|yunet|mmdet] [--det-options KEY=VALUE ...]
        [--enlarge 1.3] [--precision auto|fp32|bf16|int8|onnx]
        [--device cpu|cuda:0] [--cfg-options KEY=VALUE ...]

INPUT is a video file, a folder of frames (one clip), a folder of videos or
a folder of frame folders. The face is found and cropped as
``tools/data/extract_faces.py`` cuts training clips and
``tools/analyze_video.py`` analyses videos, with the same detector options
and defaults (``s2d_mm/video_analysis/face_search_args.py``): MTCNN by
default (``--detector haar`` for OpenCV's Haar cascade, ``yunet``,
``mmdet`` or any registered detector, configured by ``--det-model``,
``--det-config``, ``--det-checkpoint``, ``--det-score-thr`` or
``--det-options key=value``), a square crop ``--enlarge`` (1.3) times the
detector's box, one box per clip (the median of the detections on up to 16
frames). Use the detector the model's training clips were cut with:
detectors frame faces differently. Pass ``--no-detect`` for clips that are
already face crops (as DFEW's). Every clip is sampled to the model's number
of frames, spread evenly over the whole clip. ``--precision auto`` runs
the fastest precision native to the machine (measured on the model once
and remembered, see ``s2d_mm/apis/auto_precision.py``) and prints what it
picked, with ``--explain`` the measured table; a precision the
machine would only emulate is refused (exit status 2).

Exit status: 0 when every clip got a prediction, 1 when a clip has no face
(or cannot be read), 2 for bad arguments (a usage error naming the flag or
the input), a detector that cannot be set up (e.g. a missing model file) or
a precision the machine does not run natively. Any other error (a checkpoint that
does not fit the config, a wrong config) stops the tool with its traceback.
"""
import argparse
import json
import os
import os.path as osp
import sys


def build_parser():
    from s2d_mm.utils.cli_args import add_cfg_options
    from s2d_mm.video_analysis.face_search_args import add_face_search_args
    parser = argparse.ArgumentParser(
        description='S2D facial expression inference on videos')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='video file, frame folder, folder of '
                        'videos or folder of frame folders')
    parser.add_argument('--device', default=None,
                        help='e.g. cpu, cuda:0 (default: cuda:0, as in '
                        "mmaction2's demos, when CUDA is available, else "
                        'cpu)')
    parser.add_argument('--out', help='write the predictions as JSON')
    parser.add_argument('--out-video', help='write a visualisation (frames '
                        'with a probability bar chart) as mp4; a folder '
                        'when the input has several clips')
    parser.add_argument('--show', action='store_true',
                        help='show the visualisation in a window')
    parser.add_argument('--no-detect', action='store_true',
                        help='input frames are face crops already')
    # the detector and crop of extract_faces / analyze_video (one box per
    # clip: no tracking options)
    add_face_search_args(parser, tracking=False)
    parser.add_argument('--topk', type=int, default=3,
                        help='classes printed per clip')
    parser.add_argument('--fps', type=float, default=4.0,
                        help='frame rate of --out-video')
    add_cfg_options(parser, help='override config entries, key=value (e.g. '
                    'model.backbone.with_cp=True)')
    parser.add_argument('--precision', default='fp32',
                        choices=['auto', 'fp32', 'bf16', 'int8', 'onnx'],
                        help='inference precision: auto picks the fastest '
                        'native one for this machine (s2d_mm.apis.precision;'
                        ' bf16 only where native); default fp32')
    parser.add_argument('--explain', action='store_true',
                        help='print what --precision auto measured')
    parser.add_argument('--onnx-file', help='with --precision onnx: a model '
                        'exported by tools/deployment/export_onnx.py '
                        '(default: exported now)')
    return parser


def parse_args(argv=None):
    """Parsed and checked arguments; ``args.clips`` holds the clips INPUT
    stands for. Bad flags and inputs stop with a usage error (status 2)."""
    from s2d_mm.video_analysis.face_search_args import check_face_search_args
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be >= 1, got {args.topk}')
    check_face_search_args(parser, args)
    if not args.fps > 0:
        parser.error(f'--fps must be > 0, got {args.fps}')
    if args.onnx_file and args.precision != 'onnx':
        parser.error('--onnx-file needs --precision onnx')
    args.device = check_device(parser, args.device)
    try:
        args.clips = find_clips(args.input)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    return args


def check_device(parser, device):
    """``--device`` as a torch device string; None: cuda:0 when CUDA is
    available (mmaction2's demos default to it), else cpu."""
    import torch
    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        parser.error(f'--device {device!r} is not a device (e.g. cpu, '
                     'cuda:0)')
    if kind == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {device}: CUDA is not available on this '
                     'machine; use --device cpu')
    return device


def find_clips(path):
    """``[(name, source)]``: the clips an INPUT path stands for."""
    from s2d_mm.apis.inference import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
    from s2d_mm.datasets.utils import natural_key
    if osp.isfile(path):
        return [(osp.splitext(osp.basename(path))[0], path)]
    if not osp.isdir(path):
        raise FileNotFoundError(f'input not found: {path}')
    names = sorted(os.listdir(path), key=natural_key)
    videos = [n for n in names if n.lower().endswith(VIDEO_EXTENSIONS)]
    if videos:
        return [(osp.splitext(n)[0], osp.join(path, n)) for n in videos]
    if any(n.lower().endswith(IMAGE_EXTENSIONS) for n in names):
        return [(osp.basename(osp.normpath(path)), path)]
    sub = [n for n in names if osp.isdir(osp.join(path, n)) and any(
        f.lower().endswith(IMAGE_EXTENSIONS)
        for f in os.listdir(osp.join(path, n)))]
    if sub:
        return [(n, osp.join(path, n)) for n in sub]
    raise ValueError(f'{path} holds no video ({", ".join(VIDEO_EXTENSIONS)}'
                     f'), no frames ({", ".join(IMAGE_EXTENSIONS)}) and no '
                     'frame folders')


def predict_clip(model, name, source, args, detector=None):
    """``(result, line, problem)`` of one clip: the JSON entry, the printed
    line, and when the input (not the model) has a problem, ``(message,
    message as shown at once)``."""
    from s2d_mm.apis import NoFaceFoundError, inference_video
    from s2d_mm.apis.inference import ClipReadError
    try:
        res = inference_video(model, source, detect=not args.no_detect,
                              detector=detector, enlarge=args.enlarge)
    except NoFaceFoundError as err:
        # only problems of the input; any other error (a wrong config,
        # a bug) propagates with its traceback
        msg = f'{source}: {err}. No prediction made (use --no-detect if ' \
              'the frames are already face crops).'
        return dict(source=source, error=str(err)), \
            f'{name}: NO FACE FOUND', (msg, msg)
    except ClipReadError as err:  # unreadable video / frames
        msg = f'{source}: {err}'
        return dict(source=source, error=str(err)), \
            f'{name}: CANNOT READ ({err})', (msg, f'error: {msg}')
    order = res['probs'].argsort()[::-1][:args.topk]
    line = f'{name}: ' + ', '.join(
        f'{res["classes"][i]} {res["probs"][i]:.3f}' for i in order)
    result = dict(
        source=source,
        pred_class=res['pred_class'],
        pred_label=res['pred_label'],
        probs={c: float(p) for c, p in zip(res['classes'], res['probs'])},
        frame_inds=res['frame_inds'],
        num_input_frames=res['num_input_frames'],
        face_box=res['face_box'],
        detector=res['detector'])
    if args.out_video or args.show:
        visualise(res, name, result, args)
    return result, line, None


def visualise(res, name, result, args):
    """``--out-video`` (path recorded in ``result``) and ``--show``."""
    from s2d_mm.video_analysis import draw_prediction, write_video
    vis = draw_prediction(res['frames'], res['probs'], res['classes'],
                          title=name)
    if args.out_video:
        path = args.out_video
        if len(args.clips) > 1:
            path = osp.join(args.out_video, f'{name}.mp4')
        result['visualisation'] = write_video(vis, path, fps=args.fps)
    if args.show:
        _show(vis, name, args.fps)


def run_clips(model, args, detector=None):
    """Predict every clip (the face found by ``detector``, built once);
    ``(results, lines, problems)``."""
    from mmengine.utils import ProgressBar
    results, lines, problems = {}, [], []
    bar = ProgressBar(len(args.clips)) if len(args.clips) > 1 else None
    for name, source in args.clips:
        results[name], line, problem = predict_clip(model, name, source,
                                                    args, detector)
        lines.append(line)
        if problem is not None:
            problems.append(problem[0])
            if bar is None:
                print(problem[1], file=sys.stderr)
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    return results, lines, problems


def write_json(args, precision, results):
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                       precision=str(precision or 'fp32'),
                       results=results), f, indent=2)
    print(f'predictions written to {args.out}')


def build_detector(args):
    """The face detector the options ask for (None with ``--no-detect``),
    from :data:`s2d_mm.registry.FACE_DETECTORS`, on ``--device`` where it
    runs a network."""
    if args.no_detect:
        return None
    from s2d_mm.video_analysis import build_face_detector
    from s2d_mm.video_analysis.face_search_args import face_detector_cfg
    return build_face_detector(face_detector_cfg(args, args.device))


def main(argv=None):
    args = parse_args(argv)
    from s2d_mm.apis import init_model
    from s2d_mm.apis.precision import PrecisionNotSupportedError
    from s2d_mm.video_analysis import FaceDetectorSetupError
    try:
        detector = build_detector(args)
    except FaceDetectorSetupError as err:  # e.g. a missing model file
        print(f'error: {err}', file=sys.stderr)
        return 2
    try:
        model = init_model(args.config, args.checkpoint, device=args.device,
                           cfg_options=args.cfg_options,
                           precision=args.precision,
                           onnx_file=args.onnx_file)
    except PrecisionNotSupportedError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    precision = getattr(model, 'inference_precision', None)
    if precision is not None:
        print(precision.explain() if args.explain else
              f'precision: {precision}')
    results, lines, problems = run_clips(model, args, detector)
    print('\n'.join(lines))
    if args.out:
        write_json(args, precision, results)
    if problems:
        print(f'{len(problems)} of {len(args.clips)} clip(s) got no '
              'prediction:', file=sys.stderr)
        for msg in problems:
            print(f'  {msg}', file=sys.stderr)
        return 1
    return 0


def _show(frames, name, fps):
    import cv2
    if sys.platform.startswith('linux') and not (
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        # OpenCV's GUI would abort the process without a display
        print('--show: no display available; use --out-video instead',
              file=sys.stderr)
        return
    try:
        for f in frames:
            cv2.imshow(name, f)
            cv2.waitKey(int(1000 / fps))
        cv2.destroyWindow(name)
    except cv2.error as err:
        print(f'--show: cannot open a window here ({err.msg.strip()}); use '
              '--out-video instead', file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
