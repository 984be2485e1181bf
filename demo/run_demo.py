"""`make demo`: S2D end to end on a generated (synthetic) dataset.

1. generate a small dynamic-expression video dataset in DFEW's layout
   (procedurally rendered faces, 7 DFEW classes);
2. train the landmark network (mmpose MobileFaceNet) on its frames and
   report its landmark error on held-out frames;
3. train the image stage (ViT + MCPs reading the landmark network) on
   single frames;
4. train the video stage (TMAs, temporal embedding, SDL) on the clips read
   by ``DFEWDataset``, test it, and report UAR / WAR with a confusion matrix;
5. draw the training curves and run ``tools/infer.py``'s code on a rendered
   video whose face must first be found.

Everything lands in ``work_dirs/demo/``. Tiny models, CPU, minutes.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from demo import REPO_ROOT as REPO

BANNER = """\
==============================================================================
 S2D demo -- SYNTHETIC DATA
 The clips are procedurally rendered cartoon faces (numpy/OpenCV drawings),
 not real people, made up on the spot by demo/generate_data.py. The
 numbers below show that the pipeline works; they say nothing about
 accuracy on real facial-expression videos (DFEW, FERV39k, MAFW).
=============================================================================="""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='S2D demo on synthetic data')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--clips-per-class', type=int, default=40)
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the generated data and of every training '
                   'stage')
    p.add_argument('--regenerate', action='store_true',
                   help='generate the data even if it exists')
    p.add_argument('--landmark-epochs', type=int, default=None)
    p.add_argument('--image-epochs', type=int, default=None)
    p.add_argument('--video-epochs', type=int, default=None)
    p.add_argument('--threads', type=int, default=None,
                   help='torch CPU threads (default: torch decides)')
    return p.parse_args(argv)


def _cpu_seconds():
    """CPU time (user + system) of this process and its finished children
    so far."""
    import resource
    total = 0.
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


class StageClock:
    """Wall and CPU seconds of each demo step (CPU time is the figure that
    holds when other processes share the machine; wall time is what a user
    waits).

    Args:
        wall, cpu: clocks returning seconds (default :func:`time.time` and
            the CPU time of this process and its finished children).
    """

    def __init__(self, wall=time.time, cpu=None):
        self.stages = {}
        self._open = None
        self._wall = wall
        self._cpu = cpu or _cpu_seconds

    def start(self, name):
        self.stop()
        self._open = (name, self._wall(), self._cpu())

    def stop(self):
        if self._open is not None:
            name, wall, cpu = self._open
            self.stages[name] = dict(wall_s=round(self._wall() - wall, 1),
                                     cpu_s=round(self._cpu() - cpu, 1))
            self._open = None
        return self.stages

    def last(self):
        """``'[wall 80 s, CPU 95 s]'`` of the step that just ended."""
        name = list(self.stop())[-1]
        t = self.stages[name]
        return f'[wall {t["wall_s"]:.0f} s, CPU {t["cpu_s"]:.0f} s]'


STEP_NAMES = ('generation', 'landmark_net', 'image_stage', 'video_stage',
              'curves_and_inference')


def _step(clock, n, text):
    clock.start(STEP_NAMES[n - 1])
    print(f'\n[{n}/5] {text}', flush=True)


def gemm_probe():
    """fp32 GEMM rate (GFLOP/s) at the demo's thread count, measured now:
    the yardstick that makes the demo's times comparable across machines
    (one 2048^3 product, best median of 3)."""
    from s2d_mm.utils.machine import matmul_rate
    return round(matmul_rate(((2048, 2048, 2048), ), warmup=1,
                             repeats=3)['gflops'], 1)


def _load_average():
    return round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') \
        else None


def record_run_end(machine, gemm_start, load_start):
    """Put the GEMM rate and load average at the start (given) and at the
    end (measured now) of a run into ``machine``
    (:func:`s2d_mm.utils.machine.describe_machine`'s dict), which
    :func:`machine_line` prints: on a shared machine the rate moves during
    a run."""
    import torch
    machine['gemm_fp32_gflops'] = dict(
        start=gemm_start, end=gemm_probe(), shape=[2048, 2048, 2048],
        threads=torch.get_num_threads())
    machine['load_average'] = None if load_start is None else dict(
        start=load_start, end=_load_average())
    return machine


def machine_line(machine):
    """One line naming the machine of the demo's times."""
    isa = ', '.join(f'{k} {"yes" if machine["isa"][k] else "no"}'
                    for k in ('AVX2', 'AVX-512', 'AVX512_BF16', 'AMX'))
    gemm = machine['gemm_fp32_gflops']
    load = machine['load_average']
    return (f'{machine["cpu_model"]}, {machine["backends"]["cpu_count"]} '
            f'logical CPUs ({isa}); torch {machine["backends"]["threads"]} '
            f'threads; fp32 GEMM {gemm["start"]:.0f} GFLOP/s at the start, '
            f'{gemm["end"]:.0f} at the end of this run'
            + ('' if load is None else
               f'; load average {load["start"]:.1f} / {load["end"]:.1f} '
               f'(start / end, {machine["backends"]["cpu_count"]} CPUs)'))


def ensure_data(root, clips_per_class, seed, regenerate):
    from demo import generate_dataset
    meta_file = osp.join(root, 'meta.json')
    if osp.isfile(meta_file) and not regenerate:
        meta = json.load(open(meta_file))
        if meta.get('clips_per_class') == clips_per_class and \
                meta.get('seed') == seed:
            print(f'  reusing {root} ({meta["num_train"]} train / '
                  f'{meta["num_test"]} test clips; --regenerate to redo)')
            return meta
    return generate_dataset(root, clips_per_class=clips_per_class,
                            seed=seed)


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    import s2d_mm  # noqa: F401
    from demo import stages
    from s2d_mm.utils.machine import describe_machine

    work = osp.abspath(args.work_dir)
    data_root = osp.join(work, 'data')
    os.makedirs(work, exist_ok=True)
    print(BANNER)
    machine = describe_machine()
    load_start = _load_average()
    gemm_start = gemm_probe()
    print(f' machine: {machine["cpu_model"]}, fp32 GEMM {gemm_start:.0f} '
          f'GFLOP/s with {torch.get_num_threads()} threads (measured now)')
    clock = StageClock()

    _step(clock, 1, 'Generating the synthetic dataset (DFEW layout)')
    meta = ensure_data(data_root, args.clips_per_class, args.seed,
                       args.regenerate)
    print(f'  {meta["num_train"]} train + {meta["num_test"]} test clips of '
          f'{meta["num_frames"]} frames, {meta["img_size"]} px, classes '
          f'{", ".join(meta["classes"])}')
    print(f'  Surprise and Fear differ only by motion (a Fear clip is a '
          f'Surprise clip played backwards): every single frame could '
          f'belong to either  '
          f'{clock.last()}')

    _step(clock, 2, 'Training the landmark network (mmpose MobileFaceNet, 68 '
          'landmarks)')
    lm = stages.train_landmark(data_root, osp.join(work, 'landmark'),
                               epochs=args.landmark_epochs, seed=args.seed)
    fe = lm['frame_error']
    print(f'  {len_test_frames(meta)} frames of the test clips: NME '
          f'{lm["NME"]:.4f} (inter-ocular); per-frame error median '
          f'{fe["median"]:.2f} px, mean {fe["mean"]:.2f} px, max '
          f'{fe["max"]:.1f} px on {meta["img_size"]}-px frames; '
          f'{fe["over_10px"]:.1f} % of frames over 10 px, '
          f'{fe["outside_box"]:.1f} % with a landmark off the face box  '
          f'{clock.last()}')

    _step(clock, 3, 'Image stage: ViT + Multi-View Complementary Prompters on '
          'still photos')
    img = stages.train_image_stage(data_root, osp.join(work, 'image'),
                                   lm['checkpoint'],
                                   epochs=args.image_epochs, seed=args.seed)
    print(f'  held-out stills: UAR {img["UAR"]:.1f}% WAR {img["WAR"]:.1f}% '
          '(Surprise and Fear stills are alike)  '
          f'{clock.last()}')

    _step(clock, 4, 'Video stage: + Temporal-Modeling Adapters, temporal '
          'embedding, SDL (DFEWDataset)')
    vid = stages.train_video_stage(
        data_root, osp.join(work, 'video'), lm['checkpoint'],
        img['checkpoint'], epochs=args.video_epochs, out_dir=work,
        seed=args.seed)
    m = vid['metrics']
    classes = meta['classes']
    print(f'  TEST (synthetic, {meta["num_test"]} clips): '
          f'UAR {m["UAR"]:.1f}%  WAR {m["WAR"]:.1f}%  '
          f'{clock.last()}')
    print('  per-class recall: ' + ', '.join(
        f'{c} {m[f"recall/{c}"]:.0f}' for c in classes))

    _step(clock, 5, 'Curves and inference on a raw (uncropped) video')
    curves = stages.plot_curves(
        [('landmark network', lm['losses'], []),
         ('image stage', img['losses'], []),
         ('video stage', vid['losses'], vid['val'])],
        osp.join(work, 'training_curves.png'))
    example = _infer_example(work, vid)

    final_ckpt = osp.join(work, 's2d_demo.pth')
    _copy(vid['checkpoint'], final_ckpt)
    clock.stop()
    record_run_end(machine, gemm_start, load_start)
    wall, cpu = time.time() - t_start, _cpu_seconds()
    summary = dict(
        synthetic_data=True,
        landmark=dict(NME=float(lm['NME']), EPE_px=float(lm['EPE']),
                      frame_error_px=fe),
        image_stage=dict(UAR=float(img['UAR']), WAR=float(img['WAR'])),
        video_stage={k: float(v) for k, v in m.items()},
        video_val_uar={int(e): round(float(v.get('UAR', float('nan'))), 2)
                       for e, v in vid['val']},
        # every time is next to the machine it was measured on
        machine=machine,
        seconds=round(wall, 1),
        cpu_seconds=round(cpu, 1),
        stages=clock.stages)
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)

    rel = lambda p: osp.relpath(p, os.getcwd())  # noqa: E731
    print('\n' + '=' * 78)
    print(f' Done in {wall / 60:.1f} min ({cpu / 60:.1f} CPU-min; per step '
          + ', '.join(f'{k} {v["wall_s"]:.0f}/{v["cpu_s"]:.0f} s'
                      for k, v in clock.stages.items())
          + ' wall/CPU)')
    print(f' on {machine_line(machine)}')
    print(' Results on SYNTHETIC data:')
    print(f'   landmark NME {lm["NME"]:.4f}, per-frame error median '
          f'{fe["median"]:.2f} / mean {fe["mean"]:.2f} px, '
          f'{fe["over_10px"]:.1f} % over 10 px   '
          f'video UAR {m["UAR"]:.1f}%  WAR {m["WAR"]:.1f}%')
    print(' Files:')
    print(f'   confusion matrix   {rel(osp.join(work, "test_confusion_matrix.png"))}')
    print(f'   training curves    {rel(curves)}')
    print(f'   model              {rel(vid["config"])}')
    print(f'                      {rel(final_ckpt)}')
    print(f'   summary            {rel(osp.join(work, "summary.json"))}')
    print(f'   data (DFEW layout) {rel(data_root)}')
    if example:
        print(f'   inference example  {rel(example)}')
    print(' Try it on your own video:')
    print(f'   python tools/infer.py {rel(vid["config"])} {rel(final_ckpt)} '
          'YOUR_VIDEO.mp4 --out-video vis.mp4')
    print('=' * 78)
    return 0


def len_test_frames(meta):
    """Frames of the test clips in the landmark annotation file."""
    stride = meta.get('landmark_stride', 1)
    return meta['num_test'] * -(-meta['num_frames'] // stride)


def _copy(src, dst):
    import shutil
    shutil.copyfile(src, dst)


def _infer_example(work, vid):
    """Render a clip with an uncropped face, run the inference API on it
    (face detection + crop), write the visualisation."""
    import cv2

    from demo import render_scene_clip
    from s2d_mm.apis import NoFaceFoundError, inference_video, init_model
    from s2d_mm.video_analysis import draw_prediction, write_video
    clip = render_scene_clip('Happy', seed=1, num_frames=16)
    video = osp.join(work, 'example_raw_video.mp4')
    write_video(clip['frames'], video, fps=8)
    model = init_model(vid['config'], vid['checkpoint'], device='cpu')
    try:
        res = inference_video(model, video)
    except NoFaceFoundError as err:
        print(f'  inference example: {err}')
        return None
    top = res['probs'].argsort()[::-1][:3]
    # the default detector, MTCNN (that of tools/infer.py and
    # tools/data/extract_faces.py), finds the rendered face in every frame
    print(f'  rendered Happy clip, face found by {res["detector"]} at '
          f'{[round(v) for v in res["face_box"]]}: ' + ', '.join(
              f'{res["classes"][i]} {res["probs"][i]:.2f}' for i in top))
    vis = draw_prediction(res['frames'], res['probs'], res['classes'],
                          title='example_raw_video')
    out = write_video(vis, osp.join(work, 'example_prediction.mp4'), fps=4)
    cv2.imwrite(osp.join(work, 'example_prediction.jpg'), vis[-1])
    return out


if __name__ == '__main__':
    sys.exit(main())
