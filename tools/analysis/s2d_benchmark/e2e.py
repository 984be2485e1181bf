"""Sections ``e2e`` and ``data``, on a generated DFEW layout.

- ``e2e``: test throughput in videos/s with the config's test protocol
  (DFEW: 2 clips x 2 crops): decoding, landmarks, model and the UAR/WAR
  metric; this project (identical views computed once, only the sampled
  frames decoded) against the reference (every frame decoded, every view
  computed), the two passes alternating video by video; predictions must
  be identical.
- ``data``: clips/s of the training data pipeline alone with 0 and
  ``--workers`` workers, against the clips/s that training consumes.
"""
import copy
import time

import torch

from .models import autocast
from .report import fmt_stats
from .timing import time_fn


def build_dataset(info, pipeline, split: str, ref_decode: bool = False):
    """``DFEWDataset`` over the generated layout ``info`` (fold 1);
    ``ref_decode``: frames read by the release-style decode (all of them).
    """
    from mmaction.registry import DATASETS
    pipeline = copy.deepcopy(pipeline)
    if ref_decode:
        for t in pipeline:
            if t['type'] in ('RawFrameDecode', 'mmaction.RawFrameDecode'):
                t['type'] = 'ReleaseStyleRawFrameDecode'
    return DATASETS.build(
        dict(type='DFEWDataset', ann_file=info[f'{split}_ann'], fold=1,
             label_base=0, data_prefix=dict(video=info['frame_root']),
             pipeline=pipeline, test_mode=split == 'test'))


def test_views(pipeline) -> str:
    """``'2 clips x 2 crops'``: the views per video of a test pipeline."""
    clips = crops = 1
    for t in pipeline:
        if t['type'].endswith('SampleFrames'):
            clips = t.get('num_clips', 1)
        elif t['type'].endswith(('SpatialCrops', 'ThreeCrop', 'TenCrop')):
            crops = t.get('num_crops', 3 if 'Three' in t['type'] else 10)
    return f'{clips} clips x {crops} crops'


def _loader(dataset, workers: int, **kwargs):
    from mmengine.dataset import pseudo_collate
    return torch.utils.data.DataLoader(
        dataset, batch_size=1, num_workers=workers,
        collate_fn=pseudo_collate, **kwargs)


def _item(sample, name):
    """``pred_score`` / ``pred_label`` across mmaction 1.x data samples
    (1.1: ``pred_scores.item``; later: ``pred_score``)."""
    if name in sample:
        return sample.get(name)
    return sample.get(name + 's').item


class TestPass:
    """One model's pass over a test set, advanced one batch at a time so
    that two passes can be interleaved; ``seconds`` sums the time of its own
    steps (loading and decoding included when ``workers=0``)."""

    def __init__(self, model, dataset, workers, dtype, device, meta):
        from mmaction.registry import METRICS
        self.model, self.dtype, self.device = model, dtype, device
        self.metric = METRICS.build(dict(type='UARWARMetric', prefix='test'))
        self.metric.dataset_meta = meta
        self.n = len(dataset)
        self.it = iter(_loader(dataset, workers))
        self.preds, self.scores, self.seconds = [], [], 0.

    def step(self) -> bool:
        t0 = time.perf_counter()
        try:
            batch = next(self.it)
        except StopIteration:
            return False
        with torch.no_grad(), autocast(self.device, self.dtype):
            outs = self.model.test_step(batch)
        self.metric.process(batch, [o.to_dict() for o in outs])
        for o in outs:
            self.scores.append(_item(o, 'pred_score').float().cpu())
            self.preds.append(int(_item(o, 'pred_label')))
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        self.seconds += time.perf_counter() - t0
        return True

    def finish(self):
        t0 = time.perf_counter()
        result = self.metric.evaluate(self.n)
        self.seconds += time.perf_counter() - t0
        return result


def bench_e2e(bench):
    a, device, setup = bench.args, bench.device, bench.setup
    info = bench.fake_dfew()
    ds = dict(fast=build_dataset(info, setup['test_pipeline'], 'test'),
              reference=build_dataset(info, setup['test_pipeline'], 'test',
                                      ref_decode=True))
    meta = ds['fast'].metainfo
    n = min(len(ds['fast']), a.e2e_videos or len(ds['fast']))
    dtype = torch.bfloat16 if a.e2e_bf16 else None
    out = dict(videos=n, precision='bf16' if dtype else 'fp32')
    subsets = {k: torch.utils.data.Subset(v, range(n)) for k, v in ds.items()}
    models = dict(fast=bench.fast, reference=bench.ref)
    for name in models:  # warm-up: one video each
        warm = TestPass(models[name], torch.utils.data.Subset(
            subsets[name], [0]), 0, dtype, device, meta)
        while warm.step():
            pass
    seconds = {name: [] for name in models}
    for _ in range(a.e2e_repeats):
        passes = {name: TestPass(models[name], subsets[name], a.e2e_workers,
                                 dtype, device, meta) for name in models}
        # the two paths alternate video by video (shared CPUs)
        while all([p.step() for p in passes.values()]):
            pass
        for name, p in passes.items():
            out[name] = dict(metric=p.finish())
            seconds[name].append(p.seconds)
    for name in models:
        med = sorted(seconds[name])[len(seconds[name]) // 2]
        out[name].update(seconds=seconds[name], videos_per_s=n / med)
        bench.row(f'e2e test {name} ({out["precision"]})',
                  f'{n / med:.3g} videos/s',
                  f'{n} videos, {test_views(setup["test_pipeline"])}, '
                  f'{a.e2e_workers} workers')
    same = passes['fast'].preds == passes['reference'].preds
    sdiff = float((torch.stack(passes['fast'].scores) -
                   torch.stack(passes['reference'].scores)).abs().max())
    out['identical_predictions'] = same
    out['score_max_abs_diff'] = sdiff
    out['speedup'] = (out['fast']['videos_per_s'] /
                      out['reference']['videos_per_s'])
    bench.row('e2e speed-up fast/reference', f'{out["speedup"]:.2f}x',
              f'identical predictions: {same}, scores max diff {sdiff:.1e}')
    bench.res['e2e'] = out


def bench_data(bench):
    """Clips/s of the training pipeline in steady state: workers started and
    warmed up first, then ``--data-clips`` clips timed per repetition."""
    a = bench.args
    ds = build_dataset(bench.fake_dfew(), bench.setup['train_pipeline'],
                       'train')
    clips = a.data_clips
    out = {}
    for workers in sorted({0, a.workers}):
        sampler = torch.utils.data.RandomSampler(
            ds, replacement=True, num_samples=1 << 30)
        dl = _loader(ds, workers, sampler=sampler,
                     persistent_workers=workers > 0,
                     prefetch_factor=2 if workers else None)
        it = iter(dl)

        def run(it=it):
            for _ in range(clips):
                next(it)

        stats = time_fn(run, warmup=1, repeats=a.repeats)
        del it, dl
        out[f'workers_{workers}'] = stats.to_dict()
        out[f'clips_per_s_workers_{workers}'] = stats.rate(clips)
        bench.row(f'train data pipeline, {workers} workers',
                  fmt_stats(stats, clips, ' clips/s'),
                  'decode + RandAugment + crop + flip + erasing')
    train = bench.res.get('train', {}).get('fast')
    if train:
        consumed = a.train_batch / train['median']
        ratio = out[f'clips_per_s_workers_{a.workers}'] / consumed
        out['ratio_to_training_consumption'] = ratio
        bench.row('data pipeline / training consumption', f'{ratio:.1f}x',
                  f'{a.workers} workers vs {consumed:.3g} clips/s trained '
                  '(target >= 3x)')
    bench.res['data'] = out
