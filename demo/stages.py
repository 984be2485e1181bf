"""The demo's training stages, each an mmengine ``Runner`` on a shipped config.

1. :func:`train_landmark`: the landmark network (mmpose, MobileFaceNet) on
   the synthetic frames, whose 68 landmarks are known; reports NME and the
   mean pixel error (EPE) on frames of the test clips.
2. :func:`train_image_stage`: ViT + MCPs on single apex frames (SFER).
3. :func:`train_video_stage`: the image model plus TMAs, temporal embedding
   and SDL on the clips (DFER), read by ``DFEWDataset``; tested with the
   UAR/WAR metric, which writes the confusion matrix.

Used by ``demo/run_demo.py`` and, through :mod:`demo.ablation`,
``python -m demo.run_ablation``.
"""
import contextlib
import copy
import io
import logging
import os
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from . import (
    REPO_ROOT,
    landmark_init,  # noqa: F401  (registers MeanShapeInitHook)
    progress,  # noqa: F401  (registers DemoProgressHook)
)

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'demo')
LANDMARK_CONFIG = osp.join(CONFIG_DIR,
                           'landmark_mobilefacenet-s_synthetic-64px.py')
IMAGE_CONFIG = osp.join(CONFIG_DIR, 's2d_image_vit-tiny_synthetic-64px.py')
VIDEO_CONFIG = osp.join(CONFIG_DIR,
                        's2d_video_vit-tiny_synthetic-dfew_8x64.py')

#: video stage without TMAs: prompters, temporal embedding, norm and head
#: train; the (zero-initialised) adapters stay frozen at zero output
NO_TMA_TRAINABLE = (r'^temporal_embedding$', r'^ln1\.', r'^landmark_embed\.',
                    r'^prompt_norms\.', r'^prompters\.\d+\.(?!tma\.)')


#: warnings that are expected in the demo (frozen parameters, ...): kept in
#: the log file, not shown on the console
EXPECTED_WARNINGS = (
    'since its requires_grad=False',
    'The prefix is not set in metric class',
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias',
)


class _DropExpected(logging.Filter):

    def filter(self, record):
        msg = record.getMessage()
        return not any(s in msg for s in EXPECTED_WARNINGS)


def _quiet_console(runner):
    """Keep the runner's log file at INFO but show only unexpected warnings
    on the console: the progress bar is the console output. (The config
    sets ``log_level='WARNING'`` so that building the runner prints
    nothing.)"""
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.INFO)
        else:
            handler.addFilter(_DropExpected())


def _set_epochs(cfg, epochs):
    """Change the number of epochs of a demo config, shrinking the warm-up
    and the cosine schedule with it."""
    old_epochs = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    scheds = []
    warm_end = 0
    for sched in cfg.param_scheduler:
        sched = dict(sched)
        if sched.get('type') == 'LinearLR' and sched.get('by_epoch', True):
            sched['end'] = warm_end = min(sched['end'], max(1, epochs - 1))
        elif sched.get('type') == 'CosineAnnealingLR':
            sched['begin'] = min(sched.get('begin', 0), warm_end)
            sched['end'] = epochs
            if sched['end'] <= sched['begin']:
                continue
            if 'T_max' in sched:
                sched['T_max'] = epochs - sched['begin']
        scheds.append(sched)
    cfg.param_scheduler = scheds
    cfg.default_hooks.checkpoint.interval = epochs
    # the frozen-BatchNorm phase keeps its share of the schedule
    old_epochs = max(1, old_epochs)
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') == 'FrozenBatchNormHook':
            hook['begin_epoch'] = min(
                max(1, round(hook['begin_epoch'] * epochs / old_epochs)),
                max(1, epochs - 1))


def _set_seed(cfg, seed):
    """Seed a stage's run (weights, batches, augmentation); ``None`` keeps
    the config's seed."""
    if seed is not None:
        cfg.randomness = dict(seed=seed, diff_rank_seed=False,
                              deterministic=False)


def _run(cfg, work_dir, title, test=True):
    """Train (and test) ``cfg`` in ``work_dir`` with the progress bar."""
    from mmengine.runner import Runner
    cfg.work_dir = work_dir
    cfg.experiment_name = 'demo_' + title.replace(' ', '_')
    cfg.log_level = 'WARNING'
    hook = dict(type='DemoProgressHook', title=title)
    cfg.custom_hooks = list(cfg.get('custom_hooks', []) or []) + [hook]
    runner = Runner.from_cfg(cfg)
    _quiet_console(runner)
    # annotation loaders (pycocotools) print to stdout; the bar draws on
    # the real stdout
    with contextlib.redirect_stdout(io.StringIO()):
        runner.train()
        metrics = runner.test() if test else {}
    bar = next(h for h in runner.hooks
               if isinstance(h, progress.DemoProgressHook))
    return runner, bar, metrics


def train_landmark(data_root, work_dir, epochs=None, seed=None):
    """Train the demo landmark network; returns ``dict(checkpoint, NME,
    EPE, frame_error, losses, seconds)``. ``checkpoint`` holds only the
    weights; ``frame_error`` is the distribution of the per-frame error on
    the test frames (``median``, ``mean``, ``max`` in pixels, ``over_10px``
    and ``outside_box`` in percent of the frames, see
    :class:`s2d_mm.evaluation.LandmarkErrorMetric`)."""
    t0 = time.time()
    cfg = Config.fromfile(LANDMARK_CONFIG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    if epochs:
        _set_epochs(cfg, epochs)
    _set_seed(cfg, seed)
    # held-out frames: NME (inter-ocular), mean pixel error and how the
    # per-frame error is spread (a mean alone hides a few frames far off)
    cfg.test_evaluator = [
        dict(type='NME', norm_mode='keypoint_distance'),
        dict(type='EPE'),
        dict(type='LandmarkErrorMetric', thr=10., box_margin=0.1)
    ]
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    # from scratch: the head starts at the training set's mean shape
    # (see demo/landmark_init.py for why a short run needs it)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='MeanShapeInitHook')]
    runner, bar, metrics = _run(cfg, work_dir, 'landmarks')
    ckpt = osp.join(work_dir, 'landmark.pth')
    model = runner.model.module if hasattr(runner.model, 'module') \
        else runner.model
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(config=LANDMARK_CONFIG, synthetic=True)), ckpt)
    frame_error = {
        k.split('/')[-1]: float(v)
        for k, v in metrics.items() if k.startswith('frame_error/')
    }
    frame_error['outside_box'] = float(metrics['outside_box'])
    return dict(checkpoint=ckpt, NME=metrics.get('NME'),
                EPE=metrics.get('EPE'), frame_error=frame_error,
                losses=bar.losses, seconds=time.time() - t0)


def _with_landmark(cfg, landmark_ckpt):
    cfg.model.backbone.landmark.checkpoint = landmark_ckpt


def train_image_stage(data_root, work_dir, landmark_ckpt, epochs=None,
                      seed=None):
    """Train the image stage; returns ``dict(checkpoint, UAR, WAR, losses,
    seconds)`` (UAR/WAR on single frames of the test clips)."""
    t0 = time.time()
    cfg = Config.fromfile(IMAGE_CONFIG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    _with_landmark(cfg, landmark_ckpt)
    if epochs:
        _set_epochs(cfg, epochs)
    _set_seed(cfg, seed)
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    cfg.test_evaluator = dict(type='UARWARMetric', save_files=False)
    runner, bar, metrics = _run(cfg, work_dir, 'image stage')
    return dict(checkpoint=find_latest_checkpoint(work_dir),
                UAR=metrics.get('UAR'), WAR=metrics.get('WAR'),
                losses=bar.losses, seconds=time.time() - t0)


#: frames whose landmark features the video stage remembers: the training
#: clips' frames in both flips, the held-out and the test clips' frames
#: (~3600 for the demo data) fit; 16 KiB each
VIDEO_LANDMARK_MEMO = 8192


def video_stage_config(data_root, landmark_ckpt, image_ckpt, epochs=None,
                       use_tma=True, val_ratio=0.15, out_dir=None,
                       seed=None, val_interval=3):
    """The demo video config with data, checkpoints and variant filled in.

    A stratified ``val_ratio`` share of the training clips is held out for
    the validation curve (every ``val_interval`` epochs and after the last);
    the test split is used once, at the end. The frozen landmark branch
    remembers the features of the frames it has seen
    (:data:`VIDEO_LANDMARK_MEMO`).
    """
    cfg = Config.fromfile(VIDEO_CONFIG)
    _with_landmark(cfg, landmark_ckpt)
    cfg.model.backbone.landmark.memo_frames = VIDEO_LANDMARK_MEMO
    cfg.model.backbone.init_cfg = dict(
        type='ImageStageInit', checkpoint=image_ckpt)
    if not use_tma:
        cfg.model.backbone.tma_init = 'zero'
        cfg.model.backbone.trainable = NO_TMA_TRAINABLE
    if epochs:
        _set_epochs(cfg, epochs)
    _set_seed(cfg, seed)
    train_ds = cfg.train_dataloader.dataset
    train_ds.data_root = data_root
    cfg.test_dataloader.dataset.data_root = data_root
    if val_ratio:
        train_ds.val_split = dict(ratio=val_ratio, seed=0, part='train')
        val = copy.deepcopy(cfg.test_dataloader)
        val.dataset.ann_file = train_ds.ann_file
        val.dataset.val_split = dict(ratio=val_ratio, seed=0, part='val')
        cfg.val_dataloader = val
        cfg.val_evaluator = dict(type='UARWARMetric', save_files=False)
        cfg.val_cfg = dict(type='ValLoop')
        cfg.train_cfg.val_interval = val_interval
    cfg.test_evaluator = dict(type='UARWARMetric', file_prefix='test',
                              out_dir=out_dir, save_files=out_dir is not None)
    return cfg


def deployable_config(cfg):
    """The trained video config as written beside its checkpoint, for
    ``tools/test.py`` and ``tools/infer.py``: the weights come from the
    checkpoint (no image-stage ``init_cfg``) and the demo's progress bar,
    which only the demo driver registers, is gone."""
    out = copy.deepcopy(cfg)
    out.model.backbone.init_cfg = None
    # inference sees each frame once: nothing to remember
    out.model.backbone.landmark.pop('memo_frames', None)
    out.custom_hooks = [
        h for h in (out.get('custom_hooks') or [])
        if h.get('type') != 'DemoProgressHook'
    ]
    return out


def train_video_stage(data_root, work_dir, landmark_ckpt, image_ckpt,
                      epochs=None, use_tma=True, out_dir=None, title=None,
                      seed=None):
    """Train and test the video stage; returns ``dict(checkpoint, config,
    metrics, losses, val, seconds)`` with test ``metrics`` (UAR, WAR,
    recall/<class>, percent)."""
    t0 = time.time()
    cfg = video_stage_config(data_root, landmark_ckpt, image_ckpt, epochs,
                             use_tma=use_tma, out_dir=out_dir, seed=seed)
    runner, bar, metrics = _run(
        cfg, work_dir, title or ('video stage' if use_tma else 'no-TMA'))
    cfg_path = osp.join(work_dir, 's2d_demo_config.py')
    deployable_config(cfg).dump(cfg_path)
    return dict(checkpoint=find_latest_checkpoint(work_dir), config=cfg_path,
                metrics=metrics, losses=bar.losses, val=bar.val_metrics,
                seconds=time.time() - t0)


def plot_curves(stages, path):
    """Training loss of each stage (and validation UAR where recorded) in
    one PNG. ``stages``: list of ``(title, losses, val_metrics)``."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4.2 * len(stages), 3.4))
    FigureCanvasAgg(fig)
    for k, (title, losses, val) in enumerate(stages):
        ax = fig.add_subplot(1, len(stages), k + 1)
        if losses:
            it, loss = np.array(losses, dtype=float).T
            ax.plot(it, loss, color='tab:blue', alpha=0.3, lw=0.8)
            win = max(1, len(loss) // 20)
            smooth = np.convolve(loss, np.ones(win) / win, mode='valid')
            ax.plot(it[win - 1:], smooth, color='tab:blue', lw=1.6,
                    label='train loss')
        ax.set_xlabel('iteration')
        ax.set_ylabel('training loss', color='tab:blue')
        ax.set_title(title)
        if val:
            iters_per_epoch = (losses[-1][0] / max(1, val[-1][0])
                               if losses else 1)
            ax2 = ax.twinx()
            ep = np.array([e for e, _ in val], dtype=float)
            uar = np.array([m.get('UAR', np.nan) for _, m in val])
            ax2.plot(ep * iters_per_epoch, uar, 'o-', color='tab:red',
                     ms=3, label='val UAR')
            ax2.set_ylabel('validation UAR (%)', color='tab:red')
            ax2.set_ylim(0, 100)
    fig.tight_layout()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
