"""Can the Temporal-Modeling Adapters learn the order of frames? (issue 15)

A minimal, seeded experiment on the real S2D video modules: frozen
per-frame features in which one direction encodes an "intensity", labels
that depend only on the order of that intensity over time, and only the
TMAs, the temporal embedding and the head trained. The findings are written
up in ``docs/tma_diagnosis.md``.

Model (:func:`build_probe`): :class:`s2d_mm.models.S2DViT` as released --
TMA_0 on ``LN_0`` of the patch tokens, the temporal embedding added after
it, TMA_i (i >= 1) on ``LN_{i-1}`` in front of block i, the spatial branch
behind the temporal attention -- with frozen random ViT blocks and patch
embedding, the prompters' output projection zeroed (the frozen features are
the patch tokens alone, no landmark view), and :class:`S2DHead` (mean of the
per-frame cls features over time, linear). Trained: the TMAs, the temporal
embedding and the head (AdamW, the demo's lr 2e-3 and weight decay 0.05).

Data (:func:`make_clips`): T frames of a fixed random "face" image plus an
intensity ``i_t`` times a fixed pattern on one patch (so, through the frozen
linear patch embedding, ``i_t`` moves one patch token along one direction),
plus per-frame pixel noise and, optionally, a per-clip identity image.

- ``ramp``: intensity rising vs falling linearly. The classes differ in
  what each frame position looks like (frame 0 is dim in one, bright in the
  other): a first-order difference.
- ``sawtooth``: the demo's motion-only pair before issue 20, which made the
  demo's pair a single startle per clip (Surprise snaps open and relaxes,
  Fear creeps open and snaps shut: periodic sawtooths with random period and
  uniformly random phase, one the other played backwards). Every frame
  position, every pair covariance and every other second-order statistic is
  the same in both classes; only third-order ones differ (the skewness of
  frame-to-frame changes).

Variants (:data:`VARIANTS`) test the hypotheses of the issue: the temporal
embedding's scale and position, zero vs release init, learning rate, the
mean-pooling head, and the options the diagnosis added to
:class:`TemporalModelingAdapter` (``frame_offset_bias``, ``linear_init``).

For each variant, task and seed it reports accuracy on the training clips,
on held-out clips of the same distribution (no tuning looks at them), and
``flips``: the share of held-out clips whose prediction changes when the
clip is played backwards (both tasks map a clip to the other class under
time reversal, so a model that has learned order flips 100 %, an
order-blind one 0 %).

Usage::

    python tools/analysis/tma_order_probe.py            # full sweep
    python tools/analysis/tma_order_probe.py --tasks sawtooth \\
        --variants release order_fix --seeds 0 1 2 --steps 600
    python tools/analysis/tma_order_probe.py --list     # variant names

Writes ``results.json`` and ``table.md`` to ``--out``
(default ``work_dirs/tma_order_probe``) and prints the table with the
machine (CPU model, ISA flags, measured GEMM rate) and the CPU time.
"""
import argparse
import json
import logging
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import s2d_mm  # noqa: F401  (installed by `make install`)
from s2d_mm.models.backbones import S2DViT
from s2d_mm.models.heads.s2d_head import S2DHead

#: the clone (default output folder under its work_dirs/)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TASKS = ('ramp', 'sawtooth')

#: probe size: a small cousin of the demo's video stage (which is D 64,
#: 4 blocks, 8x8 patches, TMA ratio 0.5 with 4 heads, T 8)
PROBE = dict(embed_dims=32, num_layers=3, num_heads=2, img_size=16,
             patch_size=8, num_frames=8, tma_ratio=0.5, tma_heads=4)

#: the recipe: the demo's optimiser, a fixed set of training clips
RECIPE = dict(lr=2e-3, weight_decay=0.05, batch_size=32, steps=600,
              num_train=128, num_heldout=256)

#: the order fix: frame_offset_bias and linear_init='xavier' are both
#: needed, the fan-in head is not (the drop-one variants fix_no_*;
#: docs/tma_diagnosis.md)
ORDER_FIX = dict(frame_offset_bias=4.0, linear_init='xavier',
                 head_init='fan_in')

#: name -> (what it tests, overrides of :func:`build_probe`/:func:`train`)
VARIANTS = {
    'release': ('released TMA (trunc-normal 0.02), TE after TMA_0', {}),
    'zero': ("tma_init='zero' (spatial up-projection and TE start at 0)",
             dict(tma_init='zero')),
    'te_only': ('TMAs frozen at 0: the temporal embedding alone',
                dict(freeze_tma=True)),
    'no_temporal': ('TMAs and temporal embedding frozen at 0 (control)',
                    dict(freeze_tma=True, no_te=True)),
    'te_token_scale': ('TE initialised at the patch tokens\' scale',
                       dict(te_scale='tokens')),
    'te_before_tma0': ('TE added before TMA_0 (every TMA sees it)',
                       dict(te_position='before_tma0')),
    'lr_x5': ('learning rate 1e-2', dict(lr=1e-2)),
    'concat_head': ('head over the T per-frame features, no temporal mean',
                    dict(pool='concat')),
    'offset_bias': ('frame_offset_bias=4 alone',
                    dict(frame_offset_bias=4.0)),
    'xavier': ("linear_init='xavier' alone", dict(linear_init='xavier')),
    'head_fan_in': ('head init std D^-0.5 alone', dict(head_init='fan_in')),
    'order_fix': ('frame_offset_bias=4 + xavier TMA + fan-in head',
                  dict(ORDER_FIX)),
    'order_fix_zero': ("order_fix with tma_init='zero' (the demo's init)",
                       dict(ORDER_FIX, tma_init='zero')),
    'fix_no_offset': ('order_fix without frame_offset_bias',
                      dict(ORDER_FIX, frame_offset_bias=None)),
    'fix_no_xavier': ('order_fix without linear_init=xavier',
                      dict(ORDER_FIX, linear_init='trunc_normal')),
    'fix_no_head': ('order_fix without the fan-in head',
                    dict(ORDER_FIX, head_init='release')),
}

BUILD_KEYS = ('tma_init', 'linear_init', 'frame_offset_bias', 'head_init',
              'te_scale', 'te_position', 'pool', 'blocks')
TRAIN_KEYS = ('lr', 'freeze_tma', 'no_te', 'steps')


# --------------------------------------------------------------------- data
def intensity_curves(task: str, labels: np.ndarray, num_frames: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Intensity per frame ``(n, T)`` in [0, 1]; label 1 = rising / Fear."""
    t = np.arange(num_frames, dtype=np.float64)
    out = np.empty((len(labels), num_frames))
    for k, y in enumerate(labels):
        if task == 'ramp':
            lo, hi = rng.uniform(0, 0.3), rng.uniform(0.7, 1.0)
            i = lo + (hi - lo) * t / (num_frames - 1)
            out[k] = i if y == 1 else i[::-1]
        elif task == 'sawtooth':
            # the periodic 'snap_shut' (1, Fear) and 'snap_open' (0,
            # Surprise) of demo.expressions before issue 20, in sampled
            # frames
            peak = rng.uniform(0.75, 1.0)
            period = rng.uniform(0.38, 0.6) * num_frames
            u = np.mod(t + rng.uniform(0, period), period) / period
            out[k] = peak * (0.1 + 0.9 * (u if y == 1 else 1.0 - u))
        else:
            raise ValueError(f'unknown task {task!r}; known: {TASKS}')
    return out


def make_clips(task: str, num: int, seed: int, num_frames: int = 8,
               img_size: int = 16, patch_size: int = 8,
               identity_std: float = 0.0, noise_std: float = 0.1,
               scene_seed: int = 123) -> Dict[str, torch.Tensor]:
    """Clips ``(n, 3, T, H, W)`` whose only class cue is the order of an
    intensity, with balanced labels ``(n,)`` and the intensities ``(n, T)``.

    The face image and the intensity pattern (on the top-left patch) come
    from ``scene_seed`` and are shared by all clips; ``seed`` draws labels,
    curves, identities and noise.
    """
    scene = np.random.default_rng(scene_seed)
    face = scene.normal(size=(3, 1, img_size, img_size))
    pattern = np.zeros((3, 1, img_size, img_size))
    pattern[:, :, :patch_size, :patch_size] = scene.normal(
        size=(3, 1, patch_size, patch_size))
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num) % 2)
    curves = intensity_curves(task, labels, num_frames, rng)
    clips = np.empty((num, 3, num_frames, img_size, img_size), np.float32)
    for k in range(num):
        identity = identity_std * rng.normal(size=(3, 1, img_size, img_size))
        clips[k] = (face + identity + curves[k][None, :, None, None] * pattern
                    + noise_std * rng.normal(
                        size=(3, num_frames, img_size, img_size)))
    return dict(inputs=torch.from_numpy(clips),
                labels=torch.from_numpy(labels).long(),
                intensity=torch.from_numpy(curves).float())


def order_statistics(task: str, num: int = 40000, seed: int = 0) -> dict:
    """What tells the classes apart in the intensity curves: the largest
    class difference of the per-position mean, of the lag-1 covariance,
    and the mean cubed frame-to-frame change of each class (its skewness)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num) % 2)
    i = intensity_curves(task, labels, PROBE['num_frames'], rng)
    a, b = i[labels == 0], i[labels == 1]

    def lag1(x):
        c = x - x.mean(0)
        return (c[:, :-1] * c[:, 1:]).mean(0)

    d = np.diff(i, axis=1)
    return dict(
        mean_diff=float(np.abs(a.mean(0) - b.mean(0)).max()),
        lag1_cov_diff=float(np.abs(lag1(a) - lag1(b)).max()),
        step_cubed=[float((d[labels == c]**3).mean()) for c in (0, 1)],
        intensity_std=float(i.std()))


# -------------------------------------------------------------------- model
class OrderProbe(nn.Module):
    """S2DViT (frozen blocks, trainable TMAs + temporal embedding) and a
    head; ``forward(clips (B, 3, T, H, W)) -> logits (B, 2)``."""

    def __init__(self, backbone: S2DViT, head: nn.Module, pool: str):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.pool = pool
        grid = backbone.patch_resolution
        self._landmark_shape = (backbone.landmark_channels, *grid)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """Per-frame cls features ``(B, D, T)``."""
        n = clips.shape[0] * clips.shape[2]
        # no landmark view: zero maps (its prompt is zeroed anyway)
        lm = clips.new_zeros((n, *self._landmark_shape))
        return self.backbone(clips, lm)[0]

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        feats = self.features(clips)
        if self.pool == 'concat':
            return self.head(feats.flatten(1))
        return self.head(feats)


class _TemporalEmbeddingFirst(nn.Module):
    """Patch embedding that adds the temporal embedding to the patch tokens
    right away, so that TMA_0 sees it too (the release adds it after
    TMA_0); a diagnostic, not a model option."""

    def __init__(self, backbone: S2DViT):
        super().__init__()
        self.patch_embed = backbone.patch_embed
        # a plain attribute, not a submodule: no second copy in the graph
        object.__setattr__(self, '_backbone', backbone)

    def forward(self, frames):
        x, hw = self.patch_embed(frames)
        bb = self._backbone
        return S2DViT.add_temporal_embedding(bb, x, bb.num_frames), hw


def build_probe(seed: int,
                tma_init: str = 'release',
                linear_init: str = 'trunc_normal',
                frame_offset_bias: Optional[float] = None,
                head_init: str = 'release',
                te_scale: str = 'release',
                te_position: str = 'after_tma0',
                pool: str = 'mean',
                blocks: str = 'frozen',
                probe: Optional[dict] = None) -> OrderProbe:
    """The probe of one variant, initialised from ``seed``.

    Args:
        tma_init, linear_init, frame_offset_bias: :class:`S2DViT` /
            :class:`TemporalModelingAdapter` arguments.
        head_init (str): ``'release'``: :class:`S2DHead` with init std 0.02;
            ``'fan_in'``: init std ``D**-0.5``.
        te_scale (str): ``'release'`` (trunc-normal 0.02 or 0 for
            ``tma_init='zero'``) or ``'tokens'``: normal with the standard
            deviation of the patch tokens it is added to.
        te_position (str): ``'after_tma0'`` (release) or ``'before_tma0'``.
        pool (str): ``'mean'`` (:class:`S2DHead`) or ``'concat'``: a linear
            layer over the T per-frame features.
        blocks (str): ``'frozen'`` random ViT blocks (cls-token read-out,
            as the video model) or ``'identity'``: no blocks, the mean patch
            token is read out, so only the TMAs process the tokens.
    """
    p = dict(PROBE, **(probe or {}))
    d = p['embed_dims']
    torch.manual_seed(seed)
    tma = dict(ratio=p['tma_ratio'], num_heads=p['tma_heads'],
               linear_init=linear_init, frame_offset_bias=frame_offset_bias)
    backbone = S2DViT(
        arch=dict(embed_dims=d, num_layers=p['num_layers'],
                  num_heads=p['num_heads'], feedforward_channels=2 * d),
        img_size=p['img_size'], patch_size=p['patch_size'],
        num_frames=p['num_frames'], landmark=None, landmark_channels=4,
        tma=tma, tma_init=tma_init,
        out_type='cls_token' if blocks == 'frozen' else 'avg_featmap',
        trainable=(r'^temporal_embedding$', r'\.tma\.'))
    _quiet_init(backbone)
    if blocks == 'identity':
        backbone.layers = nn.ModuleList(
            [nn.Identity() for _ in range(p['num_layers'])])
    elif blocks != 'frozen':
        raise ValueError(f"blocks must be 'frozen' or 'identity', "
                         f'got {blocks!r}')
    with torch.no_grad():
        for prompter in backbone.prompters:
            prompter.proj_out.weight.zero_()
            prompter.proj_out.bias.zero_()
        if te_scale == 'tokens':
            g = torch.Generator().manual_seed(seed)
            probe_clips = make_clips('ramp', 8, seed=10_000 + seed,
                                     num_frames=p['num_frames'],
                                     img_size=p['img_size'],
                                     patch_size=p['patch_size'])['inputs']
            frames = probe_clips.transpose(1, 2).flatten(0, 1)
            std = backbone.patch_embed(frames)[0].std().item()
            backbone.temporal_embedding.copy_(
                torch.randn(backbone.temporal_embedding.shape, generator=g)
                * std)
        elif te_scale != 'release':
            raise ValueError(f"te_scale must be 'release' or 'tokens', "
                             f'got {te_scale!r}')
    if te_position == 'before_tma0':
        backbone.patch_embed = _TemporalEmbeddingFirst(backbone)
        backbone.add_temporal_embedding = lambda x, num_frames: x
    elif te_position != 'after_tma0':
        raise ValueError(f"te_position must be 'after_tma0' or "
                         f"'before_tma0', got {te_position!r}")
    if head_init not in ('release', 'fan_in'):
        raise ValueError(f"head_init must be 'release' or 'fan_in', "
                         f'got {head_init!r}')
    std = 0.02 if head_init == 'release' else d**-0.5
    if pool == 'mean':
        head = S2DHead(2, d, dropout_ratio=0., init_std=std)
        head.init_weights()
    elif pool == 'concat':
        head = nn.Linear(d * p['num_frames'], 2)
        nn.init.trunc_normal_(head.weight, std=std)
        nn.init.zeros_(head.bias)
    else:
        raise ValueError(f"pool must be 'mean' or 'concat', got {pool!r}")
    return OrderProbe(backbone, head, pool)


def _quiet_init(module: nn.Module) -> None:
    # mmengine logs one line per parameter at init_weights
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)


# ------------------------------------------------------------ train / eval
@torch.no_grad()
def evaluate(model: OrderProbe, data: Dict[str, torch.Tensor],
             batch: int = 128) -> Dict[str, float]:
    """Accuracy and the share of clips whose prediction flips when played
    backwards."""
    was_training = model.training
    model.eval()
    correct = flips = 0
    for s in range(0, len(data['labels']), batch):
        x = data['inputs'][s:s + batch]
        pred = model(x).argmax(1)
        correct += (pred == data['labels'][s:s + batch]).sum().item()
        flips += (model(x.flip(2)).argmax(1) != pred).sum().item()
    model.train(was_training)
    n = len(data['labels'])
    return dict(acc=correct / n, flips=flips / n)


#: parameter groups whose gradients :func:`init_gradients` reports
GRAD_GROUPS = (('temporal', r'\.tma\.temporal\.'),
               ('spatial_up', r'\.tma\.spatial\.fc_up\.'),
               ('offset_bias', r'\.tma\.frame_offset_bias$'),
               ('temporal_embedding', r'^backbone\.temporal_embedding$'),
               ('head', r'^head\.'))


@torch.no_grad()
def freeze(model: OrderProbe, freeze_tma: bool = False,
           no_te: bool = False) -> None:
    """``freeze_tma``: every TMA outputs 0 (last projection zeroed) and is
    frozen. ``no_te``: the temporal embedding is 0 and frozen."""
    bb = model.backbone
    if freeze_tma:
        for prompter in bb.prompters:
            prompter.tma.requires_grad_(False)
            prompter.tma.spatial.fc_up.weight.zero_()
            prompter.tma.spatial.fc_up.bias.zero_()
    if no_te:
        bb.temporal_embedding.requires_grad_(False)
        bb.temporal_embedding.zero_()


def init_gradients(model: OrderProbe, data: Dict[str, torch.Tensor],
                   batch_size: int = RECIPE['batch_size']) -> dict:
    """RMS of the loss gradient per parameter group (:data:`GRAD_GROUPS`)
    on the first ``batch_size`` training clips, before any step; ``None``
    for a group that is frozen or absent."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(data['inputs'][:batch_size]),
                    data['labels'][:batch_size]).backward()
    out = {}
    for group, pattern in GRAD_GROUPS:
        grads = [(p.grad if p.grad is not None else torch.zeros_like(p))
                 .flatten() for n, p in model.named_parameters()
                 if p.requires_grad and re.search(pattern, n)]
        out[group] = (float(torch.cat(grads).pow(2).mean().sqrt())
                      if grads else None)
    model.zero_grad(set_to_none=True)
    return out


@torch.no_grad()
def attention_sharpness(model: OrderProbe, clips: torch.Tensor) -> list:
    """Per TMA, the largest weight of each query's attention over the T
    frames, averaged over queries, heads and patch positions: ``1/T`` for
    uniform attention (the adapter then returns the same residual for every
    frame of a clip), 1 for attention on a single frame."""
    values, hooks = [], []
    for prompter in model.backbone.prompters:
        tma = prompter.tma
        attn = tma.temporal.attn

        def hook(module, inputs, qkv, tma=tma, attn=attn):
            bn, t, _ = qkv.shape
            q, k, _ = qkv.reshape(bn, t, 3, attn.num_heads,
                                  attn.head_dims).permute(2, 0, 3, 1, 4)
            logits = q @ k.transpose(-2, -1) * attn.head_dims**-0.5
            if tma.frame_offset_bias is not None:
                pos = torch.arange(t)
                logits = logits + tma.frame_offset_bias[
                    :, pos[None, :] - pos[:, None] + t - 1]
            values.append(float(logits.softmax(-1).amax(-1).mean()))

        hooks.append(attn.qkv.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        model(clips)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return values


def train(model: OrderProbe, data: Dict[str, torch.Tensor], seed: int,
          lr: float = RECIPE['lr'], steps: int = RECIPE['steps'],
          batch_size: int = RECIPE['batch_size'],
          weight_decay: float = RECIPE['weight_decay'],
          freeze_tma: bool = False, no_te: bool = False) -> float:
    """AdamW on the trainable parameters (after :func:`freeze`); returns
    the last batch loss."""
    freeze(model, freeze_tma, no_te)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        # as the demo's paramwise_cfg: no decay on norms, biases, the
        # temporal embedding (and the offset-bias table)
        flat = param.ndim <= 1 or name.endswith(
            ('temporal_embedding', 'frame_offset_bias'))
        (no_decay if flat else decay).append(param)
    opt = torch.optim.AdamW(
        [dict(params=decay, weight_decay=weight_decay),
         dict(params=no_decay, weight_decay=0.)], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = len(data['labels'])
    model.train()
    loss = torch.tensor(float('nan'))
    for _ in range(steps):
        idx = torch.randint(0, n, (batch_size, ), generator=gen)
        loss = F.cross_entropy(model(data['inputs'][idx]),
                               data['labels'][idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return float(loss.detach())


def run_one(task: str, variant: str, seed: int, steps: int = None,
            identity_std: float = 0.0, blocks: str = 'frozen',
            num_train: int = RECIPE['num_train'],
            num_heldout: int = RECIPE['num_heldout'],
            probe: Optional[dict] = None) -> dict:
    """Train one probe and evaluate it; seeds data, init and batches.

    ``probe`` overrides entries of :data:`PROBE` (model size).
    """
    if variant not in VARIANTS:
        raise KeyError(f'unknown variant {variant!r}; known: '
                       f'{sorted(VARIANTS)}')
    over = dict(VARIANTS[variant][1])
    build = {k: over.pop(k) for k in BUILD_KEYS if k in over}
    build.setdefault('blocks', blocks)
    fit = {k: over.pop(k) for k in TRAIN_KEYS if k in over}
    if steps is not None:
        fit['steps'] = steps
    assert not over, over
    size = dict(PROBE, **(probe or {}))
    geometry = dict(num_frames=size['num_frames'], img_size=size['img_size'],
                    patch_size=size['patch_size'], identity_std=identity_std)
    # train and held-out clips from disjoint seed ranges
    tr = make_clips(task, num_train, seed=1000 + seed, **geometry)
    ho = make_clips(task, num_heldout, seed=2000 + seed, **geometry)
    cpu0 = time.process_time()
    model = build_probe(seed, probe=probe, **build)
    freeze(model, fit.get('freeze_tma', False), fit.get('no_te', False))
    before = evaluate(model, ho)
    grads = init_gradients(model, tr)
    loss = train(model, tr, seed, **fit)
    after = evaluate(model, ho)
    return dict(task=task, variant=variant, seed=seed,
                train=evaluate(model, tr)['acc'], heldout=after['acc'],
                flips=after['flips'], flips_at_init=before['flips'],
                last_loss=loss, init_grad_rms=grads,
                attention_sharpness=attention_sharpness(
                    model, ho['inputs'][:32]),
                cpu_s=time.process_time() - cpu0)


# ------------------------------------------------------------------ report
def machine_info(gemm: bool = True) -> dict:
    """CPU model, the ISA flags that are present (AVX2, AVX-512,
    AVX512_BF16, AMX, ...), cores, torch threads and, with ``gemm``, the
    float32 GEMM rate measured now (GFLOP/s, a 1024^3 product)."""
    from s2d_mm.utils.machine import cpu_model, isa_summary, matmul_rate
    info = dict(cpu=cpu_model(),
                isa=[name for name, on in isa_summary().items() if on],
                cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                torch=torch.__version__)
    if gemm:
        info['gemm_fp32_gflops'] = round(
            matmul_rate(((1024, 1024, 1024), ), repeats=3)['gflops'], 1)
    return info


def summarize(results: List[dict]) -> List[dict]:
    """Mean and range over seeds per (task, variant)."""
    rows = {}
    for r in results:
        rows.setdefault((r['task'], r['variant']), []).append(r)
    out = []
    for (task, variant), rs in rows.items():
        row = dict(task=task, variant=variant, seeds=[r['seed'] for r in rs])
        for key in ('train', 'heldout', 'flips'):
            v = [r[key] for r in rs]
            row[key] = (float(np.mean(v)), float(min(v)), float(max(v)))
        row['cpu_s'] = float(sum(r['cpu_s'] for r in rs))
        row['attention_sharpness'] = [
            float(np.mean(v)) for v in zip(
                *[r['attention_sharpness'] for r in rs])]
        row['init_grad_rms'] = {
            g: (None if rs[0]['init_grad_rms'][g] is None else float(
                np.mean([r['init_grad_rms'][g] for r in rs])))
            for g, _ in GRAD_GROUPS}
        out.append(row)
    return out


def format_table(rows: List[dict]) -> str:
    def cell(v):
        return f'{100 * v[0]:5.1f} [{100 * v[1]:.0f}-{100 * v[2]:.0f}]'

    lines = ['| task | variant | train % | held-out % | flips % | CPU s |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['task']} | {r['variant']} | {cell(r['train'])} "
                     f"| {cell(r['heldout'])} | {cell(r['flips'])} "
                     f"| {r['cpu_s']:.0f} |")
    return '\n'.join(lines)


def format_diagnostics(rows: List[dict]) -> str:
    """Attention sharpness after training (per TMA) and the gradient RMS
    per group at the first step (``-``: frozen or absent), means over
    seeds."""
    groups = [g for g, _ in GRAD_GROUPS]
    lines = ['| task | variant | attention max weight (TMA_0, ...) | ' +
             ' | '.join(f'grad {g}' for g in groups) + ' |',
             '|---|---|---|' + '---|' * len(groups)]
    for r in rows:
        sharp = ', '.join(f'{v:.3f}' for v in r['attention_sharpness'])
        grads = ' | '.join('-' if r['init_grad_rms'][g] is None else
                           f"{r['init_grad_rms'][g]:.1e}" for g in groups)
        lines.append(f"| {r['task']} | {r['variant']} | {sharp} | {grads} |")
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tasks', nargs='+', default=list(TASKS), choices=TASKS)
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   metavar='NAME', help='see --list')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--steps', type=int, default=RECIPE['steps'])
    p.add_argument('--identity-std', type=float, default=0.0,
                   help='per-clip identity image (0: one face for all)')
    p.add_argument('--num-train', type=int, default=RECIPE['num_train'],
                   help='training clips (a fixed set, revisited)')
    p.add_argument('--num-heldout', type=int,
                   default=RECIPE['num_heldout'])
    p.add_argument('--blocks', default='frozen',
                   choices=('frozen', 'identity'))
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (1: tiny models run fastest so)')
    p.add_argument('--out', default=osp.join(REPO, 'work_dirs',
                                             'tma_order_probe'))
    p.add_argument('--list', action='store_true',
                   help='list the variants and exit')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, (what, _) in VARIANTS.items():
            print(f'{name:16s} {what}')
        return 0
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        print(f'unknown variant(s) {unknown}; known: {list(VARIANTS)}',
              file=sys.stderr)
        return 2
    import warnings
    warnings.filterwarnings('ignore')
    torch.set_num_threads(args.threads)
    machine = machine_info()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, ISA "
          f"{'/'.join(machine['isa']) or 'none of AVX2/AVX-512/AMX'}, "
          f"torch {machine['torch']} with {machine['torch_threads']} "
          f"thread(s), fp32 GEMM {machine['gemm_fp32_gflops']} GFLOP/s",
          flush=True)
    stats = {t: order_statistics(t) for t in args.tasks}
    for t, st in stats.items():
        print(f"{t}: class difference of per-position mean "
              f"{st['mean_diff']:.3f}, of lag-1 covariance "
              f"{st['lag1_cov_diff']:.4f}; mean cubed step "
              f"{st['step_cubed'][0]:+.4f} (label 0) / "
              f"{st['step_cubed'][1]:+.4f} (label 1); intensity std "
              f"{st['intensity_std']:.3f}", flush=True)
    cpu0 = time.process_time()
    results = []
    total = len(args.tasks) * len(args.variants) * len(args.seeds)
    for task in args.tasks:
        for variant in args.variants:
            for seed in args.seeds:
                r = run_one(task, variant, seed, steps=args.steps,
                            identity_std=args.identity_std,
                            blocks=args.blocks, num_train=args.num_train,
                            num_heldout=args.num_heldout)
                results.append(r)
                print(f"[{len(results)}/{total}] {task:8s} {variant:16s} "
                      f"seed {seed}: train {100 * r['train']:5.1f}  "
                      f"held-out {100 * r['heldout']:5.1f}  flips "
                      f"{100 * r['flips']:5.1f}  ({r['cpu_s']:.1f} CPU s)",
                      flush=True)
    cpu = time.process_time() - cpu0
    rows = summarize(results)
    table = format_table(rows) + '\n\n' + format_diagnostics(rows)
    setup = dict(probe=PROBE, recipe=dict(RECIPE, steps=args.steps,
                                          num_train=args.num_train,
                                          num_heldout=args.num_heldout),
                 identity_std=args.identity_std, blocks=args.blocks,
                 seeds=args.seeds)
    print(table)
    print(f'CPU time (user+sys of this process): {cpu:.0f} s')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(machine=machine, setup=setup, cpu_s=cpu,
                       order_statistics=stats,
                       command=' '.join(['python'] + sys.argv),
                       runs=results, summary=rows), f, indent=1)
    with open(osp.join(args.out, 'table.md'), 'w') as f:
        f.write(table + '\n')
    print(f'wrote {args.out}/results.json and table.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
