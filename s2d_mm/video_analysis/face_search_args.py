"""The command-line options of the face search (detector, tracker, track
confirmation, crop) that tools/analyze_video.py,
tools/data/extract_faces.py and tools/infer.py share: a dataset is cut with
the same flags, defaults and detector names that inference reads it with."""
import argparse

from s2d_mm.utils.cli_args import CfgOptionsAction

#: short names of the shipped detectors; any other name registered in
#: :data:`s2d_mm.registry.FACE_DETECTORS` works as well
DETECTOR_ALIASES = dict(mtcnn='MTCNNFaceDetector', haar='HaarFaceDetector',
                        yunet='YuNetFaceDetector', mmdet='MMDetFaceDetector')


def add_face_search_args(parser: argparse.ArgumentParser,
                         tracking: bool = True) -> None:
    """``--detector`` and its options, ``--detect-every``, ``--max-missed``,
    ``--iou-thr``, ``--min-hit-share``, ``--min-score``, ``--reid-gap`` and
    ``--enlarge`` (arguments of :func:`~s2d_mm.video_analysis.track_faces`
    and :func:`~s2d_mm.video_analysis.confirm_tracks`).

    ``tracking=False`` leaves out the tracker and track-confirmation options
    (for tools/infer.py, which takes one box per clip: detector options and
    ``--enlarge`` only)."""
    parser.add_argument(
        '--detector', default='mtcnn',
        help='face detector: mtcnn (default), haar, yunet, mmdet or the name '
        'of any registered face detector')
    parser.add_argument('--det-model', help='YuNet ONNX file')
    parser.add_argument('--det-config', help='mmdet detector config')
    parser.add_argument('--det-checkpoint', help='mmdet detector checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=None,
                        help="smallest detection score kept (default: the "
                        "detector's)")
    parser.add_argument(
        '--det-options', nargs='+', action=CfgOptionsAction, default={},
        help='more detector arguments, key=value (e.g. '
        'model=face_detection_yunet_2023mar.onnx score_thr=0.8)')
    parser.add_argument('--enlarge', type=float, default=1.3,
                        help='crop side relative to the face box (default '
                        '1.3, the same in tools/infer.py, '
                        'tools/analyze_video.py and '
                        'tools/data/extract_faces.py)')
    if not tracking:
        return
    parser.add_argument('--detect-every', type=int, default=5,
                        help='run the detector every N frames (default 5)')
    parser.add_argument('--max-missed', type=int, default=3,
                        help='end a track after K detection rounds without '
                        'it (shorter gaps are bridged)')
    parser.add_argument('--iou-thr', type=float, default=0.3,
                        help='smallest IoU linking a detection to a track')
    parser.add_argument('--min-hit-share', type=float, default=0.6,
                        help='share of the detection rounds of its span a '
                        'face must be found in (track confirmation)')
    parser.add_argument('--min-score', type=float, default=None,
                        help="a track's smallest median detection score "
                        "(default: the detector's, see "
                        's2d_mm.video_analysis.face_search)')
    parser.add_argument('--reid-gap', type=float, default=10.0,
                        help='longest absence (s) after which a face that '
                        'comes back with the same look keeps its track; '
                        '0: off')


def check_face_search_args(parser: argparse.ArgumentParser,
                           args: argparse.Namespace) -> None:
    """Refuse, through ``parser.error``, values the face search cannot use
    and a detector without what it needs (the tracking options only where
    the parser has them)."""
    from s2d_mm.registry import FACE_DETECTORS
    from . import face_detectors  # noqa: F401  (registers the detectors)
    if not args.enlarge > 0:
        parser.error(f'--enlarge must be > 0, got {args.enlarge}')
    if hasattr(args, 'detect_every'):
        if min(args.detect_every, args.max_missed) < 1:
            parser.error('--detect-every and --max-missed must be >= 1')
        if not 0 <= args.min_hit_share <= 1:
            parser.error('--min-hit-share must be in [0, 1]')
        if args.reid_gap < 0:
            parser.error('--reid-gap must be >= 0')
    name = DETECTOR_ALIASES.get(args.detector, args.detector)
    if FACE_DETECTORS.get(name) is None:
        parser.error(f'--detector {args.detector}: not one of '
                     f'{", ".join(DETECTOR_ALIASES)} nor a registered face '
                     'detector')
    options = face_detector_cfg(args)
    if name == 'YuNetFaceDetector' and not options.get('model'):
        parser.error('--detector yunet needs --det-model FILE.onnx')
    if name == 'MMDetFaceDetector' and not (options.get('config')
                                            and options.get('checkpoint')):
        parser.error('--detector mmdet needs --det-config and '
                     '--det-checkpoint')
    if name == 'HaarFaceDetector' and 'score_thr' in options:
        parser.error('--detector haar has no detection score '
                     '(--det-score-thr)')


def face_detector_cfg(args: argparse.Namespace, device=None) -> dict:
    """The detector config (for
    :func:`~s2d_mm.video_analysis.build_face_detector`) the options ask
    for; ``device`` goes to the detectors that run a network on one."""
    cfg = dict(type=DETECTOR_ALIASES.get(args.detector, args.detector))
    if device is not None and cfg['type'] in ('MTCNNFaceDetector',
                                              'MMDetFaceDetector'):
        cfg['device'] = device
    for key, value in (('model', args.det_model),
                       ('config', args.det_config),
                       ('checkpoint', args.det_checkpoint),
                       ('score_thr', args.det_score_thr)):
        if value is not None:
            cfg[key] = value
    cfg.update(args.det_options)
    return cfg
