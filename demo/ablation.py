"""What each part of S2D adds, on the demo's synthetic data (issue 15).

Three comparisons, each a set of video-stage variants trained from the same
image-stage checkpoint and landmark network (``make demo``'s), with two or
more seeds, on a split that no choice looked at:

- **temporal** (the demo data): S2D (TMAs + temporal embedding), S2D with
  the TMA order options (``frame_offset_bias``, ``linear_init='xavier'``;
  off in the released math, see ``docs/tma_diagnosis.md``), S2D without the
  temporal embedding, and the image model averaged over frames (no TMAs,
  no temporal embedding). Measured on the motion-only pair Surprise/Fear.
- **landmark** (a data variant, :data:`GEOMETRY_EXPRESSIONS`): S2D with and
  without the landmark view (the MCPs get zero landmark features,
  :class:`ZeroLandmarkFeatures`). On the demo data the five build-up
  classes are already at 100 % recall, so the variant makes two of them
  (Angry and Disgust) share every facial action but one small geometric
  one. Measured on that pair.
- **sdl** (the demo data, 20 % of the training labels flipped to a random
  other class): S2D with and without the Emotion-Anchors Self-Distillation
  loss. Measured on UAR.

Splits: the demo's ``train_set_1.csv`` is cut (stratified, fixed seed) into
a training part and a tuning part (:func:`carve_tune_split`); the tuning
part is scored after the last epoch of every run and is what any choice
(epochs, the order options' settings) may look at. ``test_set_1.csv`` is
read once per run, at its end, for the table.

Used by ``python -m demo.run_ablation`` (:mod:`demo.run_ablation`).
"""
import copy
import csv
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from s2d_mm.registry import MMACTION_MODELS, register_in

from . import stages
from .expressions import DFEW_CLASSES, EXPRESSIONS, MOTION_ONLY_CLASSES

#: share of each class of the training csv set aside for tuning
TUNE_RATIO = 0.2
#: held-out test clips a class, rendered for the ablation: four times the
#: demo's ten, so that one clip moves a class recall by 2.5 points, not 10
TEST_CLIPS_PER_CLASS = 40
#: seed offset of the rendered data: their faces are none of the demo's
RENDER_SEED_OFFSET = 1000
#: video-stage epochs of every run: the demo's 24 less the flat tail (in
#: trial runs the tuning-split UAR was flat from epoch 15-18 on)
EPOCHS = 18
#: label noise of the SDL comparison
NOISE_FRACTION = 0.2
#: TMA options that make frame order learnable (docs/tma_diagnosis.md)
ORDER_OPTIONS = dict(frame_offset_bias=4.0, linear_init='xavier')

#: the landmark comparison's data variant: Angry and Disgust share brows
#: and pressed lips; Disgust adds depressed lip corners, a few pixels of
#: mouth geometry at the model's 64 px (the other classes as in the demo)
GEOMETRY_PAIR = ('Angry', 'Disgust')
GEOMETRY_EXPRESSIONS = dict(
    EXPRESSIONS,
    Disgust=(dict(brow_lower=1.0, lip_press=1.0, lip_corner_down=1.0),
             'onset'))


# ----------------------------------------------------------------- data
def render_data(root: str, demo_meta: dict, expressions: dict,
                train_clips: int,
                test_clips: int = TEST_CLIPS_PER_CLASS) -> str:
    """Render clips with the demo's renderer and settings (frames, size,
    label base) into ``root``: ``train_clips`` a class in
    ``train_set_1.csv`` and ``test_clips`` in ``test_set_1.csv``, no stills,
    seed ``demo seed + RENDER_SEED_OFFSET``. Kept if ``root`` already holds
    the same. Returns ``root``."""
    from .synthetic_dfew import GENERATOR_VERSION, generate_dataset
    cpc = train_clips + test_clips
    want = dict(
        generator_version=GENERATOR_VERSION,
        seed=demo_meta['seed'] + RENDER_SEED_OFFSET, clips_per_class=cpc,
        num_test=test_clips * len(DFEW_CLASSES),
        num_frames=demo_meta['num_frames'], img_size=demo_meta['img_size'],
        label_base=demo_meta['label_base'],
        expressions={c: dict(actions=a, dynamics=d)
                     for c, (a, d) in expressions.items()})
    meta_file = osp.join(root, 'meta.json')
    if osp.isfile(meta_file):
        with open(meta_file) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()):
            return root
    print(f'  rendering {cpc * len(DFEW_CLASSES)} clips into {root}')
    generate_dataset(root, clips_per_class=cpc,
                     num_frames=want['num_frames'],
                     img_size=want['img_size'], seed=want['seed'],
                     test_fraction=test_clips / cpc,
                     label_base=want['label_base'], stills_per_class=0,
                     expressions=expressions)
    return root


# --------------------------------------------------------------- splits
def read_rows(path: str) -> List[Tuple[str, int]]:
    """``(video_name, label)`` rows of a DFEW-layout csv (label as
    written)."""
    with open(path, newline='') as f:
        reader = csv.reader(f)
        header = next(reader)
        if [h.strip() for h in header[:2]] != ['video_name', 'label']:
            raise ValueError(f'{path}: expected the header video_name,label,'
                             f' got {header}')
        return [(r[0], int(r[1])) for r in reader if r]


def write_rows(path: str, rows: Sequence[Tuple[str, int]]) -> str:
    """Write ``(video_name, label)`` rows with DFEW's header."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['video_name', 'label'])
        writer.writerows(rows)
    return path


def carve_tune_split(rows: Sequence[Tuple[str, int]], ratio: float = TUNE_RATIO,
                     seed: int = 0):
    """Stratified split of training rows into ``(train, tune)``.

    ``round(ratio * n_c)`` (at least 1, at most ``n_c - 1``) clips of every
    class ``c`` go to the tuning part, drawn by ``seed``; both parts keep
    the order of ``rows``.
    """
    if not 0 < ratio < 1:
        raise ValueError(f'ratio must be in (0, 1), got {ratio}')
    rng = np.random.default_rng(seed)
    tune = set()
    for label in sorted({r[1] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r[1] == label]
        if len(idx) < 2:
            raise ValueError(f'class {label} has {len(idx)} clip(s): cannot '
                             'split it into training and tuning parts')
        k = min(len(idx) - 1, max(1, int(round(ratio * len(idx)))))
        tune.update(rng.choice(idx, size=k, replace=False).tolist())
    return ([r for i, r in enumerate(rows) if i not in tune],
            [r for i, r in enumerate(rows) if i in tune])


def flip_labels(rows: Sequence[Tuple[str, int]], fraction: float,
                num_classes: int, seed: int, label_base: int = 1):
    """Label noise: ``round(fraction * len(rows))`` rows, drawn by ``seed``,
    get a label drawn uniformly from the ``num_classes - 1`` other classes.

    Returns:
        tuple: the noisy rows and the sorted indices of the flipped rows.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f'fraction must be in [0, 1], got {fraction}')
    rng = np.random.default_rng([seed, 20])
    n = int(round(fraction * len(rows)))
    flipped = np.sort(rng.choice(len(rows), size=n, replace=False))
    out = list(rows)
    for i in flipped:
        name, label = rows[i]
        k = label - label_base
        # a shift of 1..C-1 classes: never the true class, each other one
        # equally likely
        k = (k + int(rng.integers(1, num_classes))) % num_classes
        out[i] = (name, k + label_base)
    return out, flipped.tolist()


# ------------------------------------------------------- landmark view off
@register_in(MMACTION_MODELS)
class ZeroLandmarkFeatures(nn.Module):
    """Landmark branch that gives zeros: the MCPs lose the landmark view.

    In place of :class:`~s2d_mm.models.backbones.LandmarkFeatureExtractor`
    (``backbone.landmark``); ``landmark_embed`` then gets a constant input
    (its bias), so the prompts carry only the image view.

    Args:
        channels (int): ``C_l``.
        grid_size (tuple): ``(Hp, Wp)``, the patch grid.

    Shapes: ``(N, 3, H, W)`` frames -> ``(N, C_l, Hp, Wp)`` zeros.
    """

    def __init__(self, channels: int, grid_size: Tuple[int, int]):
        super().__init__()
        self.channels = int(channels)
        self.grid_size = tuple(grid_size)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.new_zeros(frames.shape[0], self.channels,
                                *self.grid_size)


# --------------------------------------------------- time-reversed pair
@TRANSFORMS.register_module()
class ReverseMotionPair(BaseTransform):
    """Training augmentation for a pair of classes that are each other
    played backwards (the demo's Surprise and Fear, by construction of
    :func:`demo.expressions.intensity_curve`): with probability ``prob`` a
    clip of either class gets its frames in reverse order and the other
    class's label.

    Each face then shows up in both classes of the pair, in opposite frame
    orders, so only the order tells them apart on the training clips too
    (without it, a model can fit the pair by remembering the faces of the
    few training clips). A model blind to frame order gets the same
    prediction for both copies and learns nothing from it.

    Put it after ``SampleFrames`` (it reverses ``frame_inds``).

    Args:
        pair (tuple[int]): the two 0-based labels.
        prob (float): probability of reversing a clip of the pair.
    """

    def __init__(self, pair: Sequence[int], prob: float = 0.5):
        if len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError(f'pair must be two different labels, got {pair}')
        self.pair = tuple(int(p) for p in pair)
        self.prob = float(prob)

    def transform(self, results: dict) -> dict:
        label = int(results['label'])
        if label in self.pair and np.random.rand() < self.prob:
            results['frame_inds'] = np.ascontiguousarray(
                results['frame_inds'][::-1])
            results['label'] = self.pair[1 - self.pair.index(label)]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(pair={self.pair}, prob={self.prob})'


# ---------------------------------------------------------------- variants
#: ``name -> (label, settings)``; settings: ``tma`` ('release', 'order' or
#: None: no TMAs), ``te`` (temporal embedding trains), ``landmark`` (the
#: landmark view), ``sdl``
VARIANTS = {
    's2d': ('S2D (TMAs + temporal embedding)',
            dict(tma='release', te=True, landmark=True, sdl=True)),
    's2d_order': ('S2D + TMA order options',
                  dict(tma='order', te=True, landmark=True, sdl=True)),
    'no_te': ('S2D without temporal embedding',
              dict(tma='release', te=False, landmark=True, sdl=True)),
    'image_avg': ('image model, frames averaged (no TMAs, no temporal '
                  'embedding)',
                  dict(tma=None, te=False, landmark=True, sdl=True)),
    'no_landmark': ('S2D without the landmark view',
                    dict(tma='release', te=True, landmark=False, sdl=True)),
    'no_sdl': ('S2D without SDL',
               dict(tma='release', te=True, landmark=True, sdl=False)),
}

#: trainable parameters without TMAs and temporal embedding: the
#: prompters (not their TMAs), landmark projection, prompt norms, final norm
NO_TEMPORAL_TRAINABLE = tuple(p for p in stages.NO_TMA_TRAINABLE
                              if 'temporal_embedding' not in p)
#: the release's policy without the temporal embedding
NO_TE_TRAINABLE = (r'^ln1\.', r'^landmark_embed\.', r'^prompt_norms\.',
                   r'^prompters\.')

#: comparisons: key -> (title, data, noise, variants, metric, target)
#: ``target``: (better variant, worse variant, metric, points)
COMPARISONS = {
    'temporal': dict(
        title='Temporal modelling (demo data)', data='demo', noise=0.0,
        variants=('s2d', 's2d_order', 'no_te', 'image_avg'),
        metrics=('UAR', 'WAR', 'motion_pair'),
        targets=(('s2d', 'image_avg', 'motion_pair', 20.0),
                 ('s2d_order', 'image_avg', 'motion_pair', 20.0))),
    'landmark': dict(
        title='Landmark view (geometry-pair variant)', data='geometry',
        noise=0.0, variants=('s2d', 'no_landmark'),
        metrics=('UAR', 'WAR', 'geometry_pair'),
        targets=(('s2d', 'no_landmark', 'geometry_pair', 5.0), )),
    'sdl': dict(
        title='SDL under 20 % label noise (demo data)', data='demo',
        noise=NOISE_FRACTION, variants=('s2d', 'no_sdl'),
        metrics=('UAR', 'WAR'),
        targets=(('s2d', 'no_sdl', 'UAR', 3.0), )),
}

METRIC_NAMES = dict(
    UAR='UAR', WAR='WAR',
    motion_pair='Surprise/Fear recall',
    geometry_pair='/'.join(GEOMETRY_PAIR) + ' recall')


def variant_config(variant: str, data_root: str, landmark_ckpt: str,
                   image_ckpt: str, train_csv: str, tune_csv: str,
                   test_csv: Optional[str] = None,
                   epochs: Optional[int] = None, seed: int = 0,
                   test_root: Optional[str] = None,
                   order_options: Optional[dict] = None,
                   reverse_pair: bool = False):
    """The demo video config of one ablation variant.

    Trains on ``train_csv``, validates on ``tune_csv`` after the last epoch
    only, tests on ``test_csv`` (default: the data's ``test_set_1.csv``)
    whose clips lie in ``test_root`` (default: ``data_root``).
    ``reverse_pair`` adds :class:`ReverseMotionPair` to the training
    pipeline.
    Every variant starts from ``image_ckpt`` with the demo's
    ``tma_init='zero'``: the untrained video model is the image model, and
    without training the temporal embedding stays 0.
    """
    if variant not in VARIANTS:
        raise KeyError(f'unknown variant {variant!r}; known: '
                       f'{list(VARIANTS)}')
    opts = VARIANTS[variant][1]
    cfg = stages.video_stage_config(data_root, landmark_ckpt, image_ckpt,
                                    epochs=epochs, use_tma=True,
                                    val_ratio=0, seed=seed)
    bb = cfg.model.backbone
    bb.tma_init = 'zero'
    if opts['tma'] == 'order':
        bb.tma = dict(bb.tma, **(order_options or ORDER_OPTIONS))
    if opts['tma'] is None:
        bb.trainable = NO_TEMPORAL_TRAINABLE
    elif not opts['te']:
        bb.trainable = NO_TE_TRAINABLE
    if not opts['landmark']:
        lm = bb.landmark
        bb.landmark = dict(type='ZeroLandmarkFeatures',
                           channels=cfg.model.backbone.landmark_channels,
                           grid_size=tuple(lm.grid_size))
    if not opts['sdl']:
        cfg.model.cls_head.loss_sdl = None
        cfg.custom_hooks = [h for h in cfg.get('custom_hooks') or []
                            if h.get('type') != 'SDLScheduleHook']
    train = cfg.train_dataloader.dataset
    if reverse_pair:
        pipe = list(train.pipeline)
        at = next(i for i, t in enumerate(pipe)
                  if t['type'] == 'SampleFrames') + 1
        pipe.insert(at, dict(type='ReverseMotionPair', pair=[
            DFEW_CLASSES.index(c) for c in MOTION_ONLY_CLASSES]))
        train.pipeline = pipe
    train.ann_file, train.fold = osp.abspath(train_csv), None
    train.pop('val_split', None)
    val = copy.deepcopy(cfg.test_dataloader)
    val.dataset.ann_file, val.dataset.fold = osp.abspath(tune_csv), None
    cfg.val_dataloader = val
    cfg.val_evaluator = dict(type='UARWARMetric', save_files=False)
    cfg.val_cfg = dict(type='ValLoop')
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
    test = cfg.test_dataloader.dataset
    if test_csv is not None:
        test.ann_file, test.fold = osp.abspath(test_csv), None
    if test_root is not None:
        test.data_root = test_root
    cfg.test_evaluator = dict(type='UARWARMetric', save_files=False)
    return cfg


def pair_recall(metrics: Dict[str, float], pair: Sequence[str]) -> float:
    """Mean recall (%) of the classes ``pair``."""
    return float(np.mean([metrics[f'recall/{c}'] for c in pair]))


def run_metrics(metrics: Dict[str, float]) -> Dict[str, float]:
    """UAR, WAR, the two pairs' recall and every class's recall (%)."""
    out = dict(UAR=float(metrics['UAR']), WAR=float(metrics['WAR']),
               motion_pair=pair_recall(metrics, MOTION_ONLY_CLASSES),
               geometry_pair=pair_recall(metrics, GEOMETRY_PAIR))
    out.update({k: float(v) for k, v in metrics.items()
                if k.startswith('recall/')})
    return out


def train_variant(cfg, work_dir: str, title: str) -> dict:
    """Train ``cfg`` (progress bar), score the tuning split after the last
    epoch, then the test split once. Returns ``dict(test, tune, wall_s,
    cpu_s)``."""
    from .run_demo import _cpu_seconds
    t0, c0 = time.time(), _cpu_seconds()
    _, bar, metrics = stages._run(cfg, work_dir, title)
    tune = bar.val_metrics[-1][1] if bar.val_metrics else {}
    return dict(test=run_metrics(metrics), tune=run_metrics(tune),
                wall_s=round(time.time() - t0, 1),
                cpu_s=round(_cpu_seconds() - c0, 1))


# ------------------------------------------------------------------ table
def summarize(runs: Sequence[dict]) -> Dict[str, Dict[str, dict]]:
    """Mean, min and max over seeds of every test metric.

    Args:
        runs: dicts with ``comparison``, ``variant``, ``seed`` and ``test``
            (metric -> value).

    Returns:
        dict: comparison -> variant -> metric -> ``dict(mean, min, max,
        values)`` (values in seed order).
    """
    out: Dict[str, Dict[str, dict]] = {}
    for r in sorted(runs, key=lambda r: r['seed']):
        per = out.setdefault(r['comparison'], {}).setdefault(
            r['variant'], {})
        for k, v in r['test'].items():
            per.setdefault(k, []).append(float(v))
    for comp in out.values():
        for var, per in comp.items():
            comp[var] = {k: dict(mean=float(np.mean(v)), min=float(min(v)),
                                 max=float(max(v)), values=v)
                         for k, v in per.items()}
    return out


def check_targets(runs: Sequence[dict], comparisons=None) -> List[dict]:
    """Each comparison's targets on the paired seeds: ``met`` when the
    better variant leads the worse one by at least ``points`` on every
    seed that both ran."""
    comparisons = COMPARISONS if comparisons is None else comparisons
    out = []
    for key, comp in comparisons.items():
        for better, worse, metric, points in comp['targets']:
            a = {r['seed']: r['test'][metric] for r in runs
                 if r['comparison'] == key and r['variant'] == better}
            b = {r['seed']: r['test'][metric] for r in runs
                 if r['comparison'] == key and r['variant'] == worse}
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            diffs = [a[s] - b[s] for s in seeds]
            out.append(dict(
                comparison=key, better=better, worse=worse, metric=metric,
                points=points, seeds=seeds, diffs=diffs,
                mean_diff=float(np.mean(diffs)),
                met=bool(all(d > points if points == 0 else d >= points
                             for d in diffs))))
    return out


def _cell(stat: dict) -> str:
    if stat['min'] == stat['max']:
        return f'{stat["mean"]:.1f}'
    return f'{stat["mean"]:.1f} [{stat["min"]:.0f}-{stat["max"]:.0f}]'


def markdown_table(summary: dict, targets: Sequence[dict],
                   comparisons=None) -> str:
    """The table (per comparison: variants x metrics, mean [min-max] over
    seeds, %) and the target lines, in markdown."""
    comparisons = COMPARISONS if comparisons is None else comparisons
    lines = ['| comparison | variant | seeds | ' + ' | '.join(
        ('UAR', 'WAR', 'Surprise/Fear', '/'.join(GEOMETRY_PAIR))) + ' |',
             '|---|---|---|---|---|---|---|']
    for key, comp in comparisons.items():
        if key not in summary:
            continue
        for var in comp['variants']:
            if var not in summary[key]:
                continue
            s = summary[key][var]
            cells = [_cell(s['UAR']), _cell(s['WAR'])]
            for m in ('motion_pair', 'geometry_pair'):
                cells.append(_cell(s[m]) if m in comp['metrics'] else '')
            lines.append(f'| {comp["title"]} | {VARIANTS[var][0]} | '
                         f'{len(s["UAR"]["values"])} | ' + ' | '.join(cells)
                         + ' |')
    lines.append('')
    for t in targets:
        sign = '>' if t['points'] == 0 else '>='
        lines.append(
            f'- {VARIANTS[t["better"]][0]} vs {VARIANTS[t["worse"]][0]}, '
            f'{METRIC_NAMES[t["metric"]]}: '
            + ', '.join(f'{d:+.1f}' for d in t['diffs'])
            + f' points (seeds {", ".join(map(str, t["seeds"]))}; target '
            f'{sign} {t["points"]:g} on every seed): '
            + ('**met**' if t['met'] else '**not met**'))
    return '\n'.join(lines) + '\n'


def plot_bars(summary: dict, path: str, comparisons=None,
              subtitle: str = '') -> str:
    """One panel per comparison: the metric each comparison is about
    (and UAR), mean over seeds as bars, every seed as a dot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    comparisons = COMPARISONS if comparisons is None else comparisons
    keys = [k for k in comparisons if k in summary]
    fig = Figure(figsize=(4.6 * max(1, len(keys)), 4.2))
    FigureCanvasAgg(fig)
    colors = ('tab:blue', 'tab:orange')
    for i, key in enumerate(keys):
        comp = comparisons[key]
        ax = fig.add_subplot(1, len(keys), i + 1)
        variants = [v for v in comp['variants'] if v in summary[key]]
        # UAR and what the comparison is about (WAR when that is UAR)
        focus = [m for m in comp['metrics'] if m not in ('UAR', 'WAR')]
        metrics = ['UAR'] + (focus or ['WAR'])
        width = 0.8 / len(metrics)
        for j, m in enumerate(metrics):
            x = np.arange(len(variants)) + (j - (len(metrics) - 1) / 2) * width
            means = [summary[key][v][m]['mean'] for v in variants]
            ax.bar(x, means, width, color=colors[j % 2],
                   label=METRIC_NAMES[m])
            for xi, v, mv in zip(x, variants, means):
                vals = summary[key][v][m]['values']
                ax.plot([xi] * len(vals), vals, 'k.', ms=4)
                ax.text(xi, max(vals) + 1.5, f'{mv:.0f}', ha='center',
                        fontsize=7)
            # the target: the worse variant's mean plus the margin,
            # over the better variant's bar
            for better, worse, metric, points in comp['targets']:
                if metric != m or better not in variants or \
                        worse not in variants:
                    continue
                xb = x[variants.index(better)]
                level = summary[key][worse][m]['mean'] + points
                ax.plot([xb - width / 2, xb + width / 2], [level, level],
                        'k--', lw=1)
                ax.text(xb, level + 1.5, f'target {level:.0f}',
                        ha='center', fontsize=6)
        ax.set_xticks(np.arange(len(variants)))
        ax.set_xticklabels([_short(v) for v in variants], fontsize=8)
        ax.set_ylim(0, 108)
        ax.set_ylabel('test %')
        ax.set_title(comp['title'], fontsize=9)
        ax.legend(fontsize=7, loc='lower left')
    if subtitle:
        fig.suptitle(subtitle, fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


_SHORT = dict(s2d='S2D', s2d_order='S2D +order\noptions', no_te='no TE',
              image_avg='no TMA,\nno TE', no_landmark='no landmark\nview',
              no_sdl='no SDL')


def _short(variant: str) -> str:
    return _SHORT.get(variant, variant)


def write_results(path_stem: str, payload: dict, table: str) -> Tuple[str,
                                                                     str]:
    """``<stem>.json`` (everything) and ``<stem>.md`` (the table)."""
    os.makedirs(osp.dirname(path_stem) or '.', exist_ok=True)
    with open(path_stem + '.json', 'w') as f:
        json.dump(payload, f, indent=2)
    with open(path_stem + '.md', 'w') as f:
        f.write(table)
    return path_stem + '.json', path_stem + '.md'


__all__ = [
    'TUNE_RATIO', 'EPOCHS', 'TEST_CLIPS_PER_CLASS', 'RENDER_SEED_OFFSET',
    'NOISE_FRACTION', 'ORDER_OPTIONS', 'GEOMETRY_PAIR', 'render_data',
    'ReverseMotionPair',
    'GEOMETRY_EXPRESSIONS', 'VARIANTS', 'COMPARISONS', 'read_rows',
    'write_rows', 'carve_tune_split', 'flip_labels', 'ZeroLandmarkFeatures',
    'variant_config', 'train_variant', 'run_metrics', 'summarize',
    'check_targets', 'markdown_table', 'plot_bars', 'write_results',
    'DFEW_CLASSES'
]
