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

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

BANNER = """\
==============================================================================
 S2D demo -- SYNTHETIC DATA
 The clips are procedurally rendered cartoon faces (numpy/OpenCV drawings),
 not real people, made up on the spot by tools/demo/generate_data.py. The
 numbers below show that the pipeline works; they say nothing about
 accuracy on real facial-expression videos (DFEW, FERV39k, MAFW).
=============================================================================="""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='S2D demo on synthetic data')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--clips-per-class', type=int, default=40)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--regenerate', action='store_true',
                   help='generate the data even if it exists')
    p.add_argument('--landmark-epochs', type=int, default=None)
    p.add_argument('--image-epochs', type=int, default=None)
    p.add_argument('--video-epochs', type=int, default=None)
    p.add_argument('--threads', type=int, default=None,
                   help='torch CPU threads (default: torch decides)')
    return p.parse_args(argv)


def _cpu_seconds():
    """CPU time (user + system) of this process so far."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


_CPU_MARKS = {}


def _step(n, text):
    _CPU_MARKS[n] = _cpu_seconds()
    print(f'\n[{n}/5] {text}', flush=True)


def ensure_data(root, clips_per_class, seed, regenerate):
    from s2d_mm.demo import generate_dataset
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
    from s2d_mm.demo import stages

    work = osp.abspath(args.work_dir)
    data_root = osp.join(work, 'data')
    os.makedirs(work, exist_ok=True)
    print(BANNER)

    _step(1, 'Generating the synthetic dataset (DFEW layout)')
    t = time.time()
    meta = ensure_data(data_root, args.clips_per_class, args.seed,
                       args.regenerate)
    print(f'  {meta["num_train"]} train + {meta["num_test"]} test clips of '
          f'{meta["num_frames"]} frames, {meta["img_size"]} px, classes '
          f'{", ".join(meta["classes"])}')
    print(f'  Surprise and Fear differ only by motion (snap open vs snap '
          f'shut); every single frame could belong to either  '
          f'[{time.time() - t:.0f}s]')

    _step(2, 'Training the landmark network (mmpose MobileFaceNet, 68 '
          'landmarks)')
    lm = stages.train_landmark(data_root, osp.join(work, 'landmark'),
                               epochs=args.landmark_epochs)
    print(f'  frames of the test clips: NME {lm["NME"]:.4f} (inter-ocular), mean '
          f'error {lm["EPE"]:.2f} px on {meta["img_size"]}-px frames  '
          f'[{lm["seconds"]:.0f}s]')

    _step(3, 'Image stage: ViT + Multi-View Complementary Prompters on '
          'still photos')
    img = stages.train_image_stage(data_root, osp.join(work, 'image'),
                                   lm['checkpoint'],
                                   epochs=args.image_epochs)
    print(f'  held-out stills: UAR {img["UAR"]:.1f}% WAR {img["WAR"]:.1f}% '
          '(Surprise and Fear stills are alike)  '
          f'[{img["seconds"]:.0f}s]')

    _step(4, 'Video stage: + Temporal-Modeling Adapters, temporal '
          'embedding, SDL (DFEWDataset)')
    vid = stages.train_video_stage(
        data_root, osp.join(work, 'video'), lm['checkpoint'],
        img['checkpoint'], epochs=args.video_epochs, out_dir=work)
    m = vid['metrics']
    classes = meta['classes']
    print(f'  TEST (synthetic, {meta["num_test"]} clips): '
          f'UAR {m["UAR"]:.1f}%  WAR {m["WAR"]:.1f}%  '
          f'[{vid["seconds"]:.0f}s]')
    print('  per-class recall: ' + ', '.join(
        f'{c} {m[f"recall/{c}"]:.0f}' for c in classes))

    _step(5, 'Curves and inference on a raw (uncropped) video')
    curves = stages.plot_curves(
        [('landmark network', lm['losses'], []),
         ('image stage', img['losses'], []),
         ('video stage', vid['losses'], vid['val'])],
        osp.join(work, 'training_curves.png'))
    example = _infer_example(work, vid)

    final_ckpt = osp.join(work, 's2d_demo.pth')
    _copy(vid['checkpoint'], final_ckpt)
    summary = dict(
        synthetic_data=True,
        landmark=dict(NME=float(lm['NME']), EPE_px=float(lm['EPE'])),
        image_stage=dict(UAR=float(img['UAR']), WAR=float(img['WAR'])),
        video_stage={k: float(v) for k, v in m.items()},
        seconds=time.time() - t_start,
        # CPU time per step: wall time is inflated when others share the CPU
        cpu_seconds={
            f'step{n}': round(_CPU_MARKS.get(n + 1, _cpu_seconds()) - c, 1)
            for n, c in _CPU_MARKS.items()
        })
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)

    rel = lambda p: osp.relpath(p, os.getcwd())  # noqa: E731
    print('\n' + '=' * 78)
    print(f' Done in {(time.time() - t_start) / 60:.1f} min '
          f'({_cpu_seconds() / 60:.1f} CPU-min). Results on SYNTHETIC data:')
    print(f'   landmark NME {lm["NME"]:.4f} / {lm["EPE"]:.2f} px   '
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


def _copy(src, dst):
    import shutil
    shutil.copyfile(src, dst)


def _infer_example(work, vid):
    """Render a clip with an uncropped face, run the inference API on it
    (face detection + crop), write the visualisation."""
    import cv2

    from s2d_mm.apis import (
        NoFaceFoundError,
        draw_prediction,
        inference_video,
        init_model,
        write_video,
    )
    from s2d_mm.demo import render_scene_clip
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
    print('  rendered Happy clip, face found by the Haar cascade at '
          f'{[round(v) for v in res["face_box"]]}: ' + ', '.join(
              f'{res["classes"][i]} {res["probs"][i]:.2f}' for i in top))
    vis = draw_prediction(res['frames'], res['probs'], res['classes'],
                          title='example_raw_video')
    out = write_video(vis, osp.join(work, 'example_prediction.mp4'), fps=4)
    cv2.imwrite(osp.join(work, 'example_prediction.jpg'), vis[-1])
    return out


if __name__ == '__main__':
    sys.exit(main())
