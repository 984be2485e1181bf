"""Windows per second of ``analyze_video`` per inference precision.

    python tools/analysis/analyze_video_speed.py [--precisions fp32 bf16 int8 onnx]
        [--config configs/s2d_dfew.py] [--seconds 1.6] [--device cpu]

The full-size model of ``--config`` (default: the shipped DFEW config,
ViT-B/16 with MCP and TMAs, 16 frames of 224 px, the converted release
layout) with seeded random weights (speed does not depend on them) runs
:func:`~s2d_mm.video_analysis.analyze_video` on a generated real-photo
video (two faces, ``tools/analysis/face_detector_eval.py``), once to warm
up and once measured, in each precision of ``--precisions``
(:mod:`s2d_mm.apis.precision`; a precision not native here is reported as
refused). Printed per precision: windows, seconds of the window phase
(decoding, crops, landmark branch, model), windows/s and the CPU time;
the machine and the fp32 GEMM rate measured in the same run head the
output. Run it under the CPU lock on a shared machine.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_checkpoint(config: str, work: str):
    """The config without pretrained-weight loading, and a checkpoint of
    seeded random weights for it."""
    import torch
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import s2d_mm  # noqa: F401  (registers the modules)
    from s2d_benchmark.models import without_checkpoints
    cfg = Config.fromfile(config)
    cfg.model = without_checkpoints(cfg.model.to_dict())
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter
    model.init_weights()
    logger.setLevel(level)
    ckpt = osp.join(work, 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    return cfg, ckpt


def measure(cfg, ckpt, precision: str, device: str, video, batch: int):
    from s2d_mm.apis import init_model
    from s2d_mm.video_analysis import analyze_video
    t0 = time.perf_counter()
    model = init_model(cfg, ckpt, device=device, precision=precision)
    setup_s = time.perf_counter() - t0
    kwargs = dict(stride=1.0, batch_size=batch, min_track_seconds=0.)
    analyze_video(model, video.reader(), **kwargs)  # warm-up
    cpu0 = time.process_time()
    tl = analyze_video(model, video.reader(), **kwargs)
    s = tl.stats
    return dict(precision=precision, detail=str(getattr(model, 'inference_precision', 'fp32 (as built)')),
                windows=s['num_windows'], seconds=s['model_seconds'],
                windows_per_s=s['windows_per_s'],
                cpu_s=round(time.process_time() - cpu0, 1),
                setup_s=round(setup_s, 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--precisions', nargs='+',
                        default=['fp32', 'bf16', 'int8', 'onnx'],
                        choices=['auto', 'fp32', 'bf16', 'int8', 'onnx'])
    parser.add_argument('--config', default=osp.join(REPO, 'configs',
                                                     's2d_dfew.py'))
    parser.add_argument('--seconds', type=float, default=1.6,
                        help='video length: the windows per face track '
                        'follow from it')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    import torch

    from face_detector_eval import PhotoVideo
    from s2d_mm.apis.precision import PrecisionNotSupportedError
    from s2d_mm.utils.machine import describe_machine, format_machine, matmul_rate
    print('machine: ' + '; '.join(format_machine(describe_machine(
        args.device))))
    print(f'fp32 GEMM rate now: {matmul_rate(device=args.device)["gflops"]:.0f}'
          f' GFLOP/s ({torch.get_num_threads()} threads)')
    video = PhotoVideo(int(round(args.seconds * 25)), gap=(0, 0))
    with tempfile.TemporaryDirectory() as work:
        cfg, ckpt = build_checkpoint(args.config, work)
        for precision in args.precisions:
            try:
                r = measure(cfg, ckpt, precision, args.device, video,
                            args.batch_size)
            except PrecisionNotSupportedError as err:
                print(f'{precision}: refused here: {err}')
                continue
            print(f'{precision}: {r["windows"]} windows in {r["seconds"]:.1f}'
                  f' s = {r["windows_per_s"]:.3f} windows/s (CPU time '
                  f'{r["cpu_s"]} s; {r["detail"]}; model set up in '
                  f'{r["setup_s"]} s)', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
