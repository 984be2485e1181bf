"""What each part of S2D adds, on the demo's synthetic data (issue 15).

One command, CPU, about 22 min on 2 cores (16 runs). It reuses ``make demo``'s
data, landmark network and image-stage checkpoint (``work_dirs/demo``) and
trains the demo's video stage in several variants, each with every seed:

- temporal: S2D (TMAs + temporal embedding), S2D with the TMA order
  options, S2D without the temporal embedding, and the image model
  averaged over frames (no TMAs, no temporal embedding);
- landmark: S2D with and without the landmark view, on a data variant it
  renders first (Angry and Disgust differ only in a few pixels of mouth
  geometry);
- sdl: S2D with and without SDL, 20 % of the training labels flipped to a
  random other class (seeded).

A tuning split carved from the training clips is scored after every run
(and is what the defaults here were chosen on); the test split is read
once per run, at its end. Prints the table (test %, mean and [min-max] over
seeds) with the issue's targets, and writes it as markdown and JSON next to
a bar chart, with the machine (CPU, ISA flags, fp32 GEMM rate measured in
this run) and the wall / CPU time.

    make demo
    python -m demo.run_ablation [--seeds 0 1] [--only temporal sdl]
        [--work-dir work_dirs/demo_ablation] [--png docs/demo_ablation.png]

The data are synthetic; the numbers say what the parts do on these
cartoon faces, not on DFEW.
"""
import json
import os
import os.path as osp
import sys
import time

from demo import parser_on_demo_run


def parse_args(argv=None):
    p = parser_on_demo_run(__doc__.split('\n')[0], 'demo_ablation')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--only', nargs='+', default=None,
                   help='comparisons to run (temporal, landmark, sdl)')
    p.add_argument('--epochs', type=int, default=None,
                   help='video-stage epochs of every run (default: '
                   'demo.ablation.EPOCHS, 18)')
    p.add_argument('--reverse-pair', action='store_true',
                   help='train with ReverseMotionPair (Surprise clips '
                   'played backwards as Fear and back); off by default: '
                   'in trials it did not make the order learnable')
    p.add_argument('--png', default=None,
                   help='also write the bar chart here (e.g. '
                   'docs/demo_ablation.png)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch CPU threads (default: torch decides)')
    return p.parse_args(argv)


def find_demo(demo_dir):
    """Data root, landmark and image-stage checkpoints of ``make demo``."""
    from mmengine.runner import find_latest_checkpoint
    data = osp.join(demo_dir, 'data')
    lm = osp.join(demo_dir, 'landmark', 'landmark.pth')
    image_dir = osp.join(demo_dir, 'image')
    image = find_latest_checkpoint(image_dir) if osp.isdir(image_dir) \
        else None
    missing = [p for p, ok in ((osp.join(data, 'meta.json'), None),
                               (lm, None), (image_dir, image))
               if not osp.isfile(p) and not ok]
    if missing:
        sys.exit(f'missing {missing}: run `make demo` first')
    return data, lm, image


def prepare_data(work, demo_data, keys, seeds):
    """Splits, held-out test sets and the geometry variant.

    - ``demo``: training and tuning parts of the demo's ``train_set_1.csv``;
      test: :data:`~demo.ablation.TEST_CLIPS_PER_CLASS` clips a class
      rendered for the ablation (``data_test``, other faces than any demo
      clip).
    - ``geometry``: the variant (``data_geometry``) with as many training
      clips as the demo and its own test clips.

    Rendered data are reused when their ``meta.json`` matches.

    Returns:
        dict: data name -> ``dict(root, train, tune, test_root, test)``
        plus, for the sdl comparison, ``noisy`` (seed -> noisy training
        csv) and ``flipped`` (seed -> number of flipped labels).
    """
    from demo import DFEW_CLASSES, ablation
    meta = json.load(open(osp.join(demo_data, 'meta.json')))
    base = meta['label_base']
    data = {}
    needed = {ablation.COMPARISONS[k]['data'] for k in keys}
    for name in sorted(needed):
        if name == 'demo':
            root = demo_data
            test_root = ablation.render_data(
                osp.join(work, 'data_test'), meta, ablation.EXPRESSIONS,
                train_clips=0)
        else:
            root = test_root = ablation.render_data(
                osp.join(work, 'data_geometry'), meta,
                ablation.GEOMETRY_EXPRESSIONS,
                train_clips=meta['num_train'] // len(DFEW_CLASSES))
        rows = ablation.read_rows(osp.join(root, 'train_set_1.csv'))
        train, tune = ablation.carve_tune_split(rows)
        split_dir = osp.join(work, 'splits', name)
        data[name] = dict(
            root=root,
            train=ablation.write_rows(osp.join(split_dir, 'train.csv'),
                                      train),
            tune=ablation.write_rows(osp.join(split_dir, 'tune.csv'), tune),
            test_root=test_root,
            test=osp.join(test_root, 'test_set_1.csv'),
            num_train=len(train), num_tune=len(tune),
            num_test=len(ablation.read_rows(
                osp.join(test_root, 'test_set_1.csv'))))
    if 'sdl' in keys:
        demo_rows = ablation.read_rows(data['demo']['train'])
        data['noisy'], data['flipped'] = {}, {}
        for seed in seeds:
            noisy, flipped = ablation.flip_labels(
                demo_rows, ablation.NOISE_FRACTION, len(DFEW_CLASSES), seed,
                label_base=base)
            data['noisy'][seed] = ablation.write_rows(
                osp.join(work, 'splits', 'demo',
                         f'train_noisy{round(100 * ablation.NOISE_FRACTION)}'
                         f'_seed{seed}.csv'), noisy)
            data['flipped'][seed] = len(flipped)
    return data


def plan_runs(keys, seeds):
    """``(comparison, variant, seed)`` of every run, comparison by
    comparison, seeds innermost."""
    from demo import ablation
    return [(k, v, s) for k in keys
            for v in ablation.COMPARISONS[k]['variants'] for s in seeds]


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    import s2d_mm  # noqa: F401
    from demo import ablation
    from demo.run_demo import (
        _cpu_seconds,
        _load_average,
        gemm_probe,
        machine_line,
        record_run_end,
    )
    from s2d_mm.utils.machine import describe_machine

    keys = args.only or list(ablation.COMPARISONS)
    unknown = set(keys) - set(ablation.COMPARISONS)
    if unknown:
        sys.exit(f'unknown comparisons {sorted(unknown)}; known: '
                 f'{list(ablation.COMPARISONS)}')
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    demo_data, lm, image = find_demo(osp.abspath(args.demo_dir))
    machine = describe_machine()
    load_start, gemm_start = _load_average(), gemm_probe()
    print('S2D ablation on the demo\'s SYNTHETIC data (cartoon faces, not '
          'DFEW)')
    print(f' machine: {machine["cpu_model"]}, fp32 GEMM {gemm_start:.0f} '
          f'GFLOP/s with {torch.get_num_threads()} threads (measured now)')
    data = prepare_data(work, demo_data, keys, args.seeds)
    for name in ('demo', 'geometry'):
        if name in data:
            d = data[name]
            print(f'  {name} data: {d["num_train"]} training / '
                  f'{d["num_tune"]} tuning clips ({d["root"]}), '
                  f'{d["num_test"]} test clips ({d["test_root"]})')
    if 'flipped' in data:
        print('  label noise: ' + ', '.join(
            f'seed {s} flips {n} of {data["demo"]["num_train"]}'
            for s, n in data['flipped'].items()))

    runs = []
    plan = plan_runs(keys, args.seeds)
    for i, (key, variant, seed) in enumerate(plan):
        comp = ablation.COMPARISONS[key]
        d = data[comp['data']]
        train_csv = data['noisy'][seed] if comp['noise'] else d['train']
        cfg = ablation.variant_config(
            variant, d['root'], lm, image, train_csv, d['tune'],
            test_csv=d['test'], test_root=d['test_root'],
            epochs=args.epochs or ablation.EPOCHS, seed=seed,
            reverse_pair=args.reverse_pair)
        tag = f'{key}_{variant}_seed{seed}'
        print(f'\n[{i + 1}/{len(plan)}] {comp["title"]}: '
              f'{ablation.VARIANTS[variant][0]}, seed {seed}', flush=True)
        res = ablation.train_variant(cfg, osp.join(work, 'runs', tag),
                                     f'{variant} s{seed}')
        t = res['test']
        print(f'  test UAR {t["UAR"]:.1f}  WAR {t["WAR"]:.1f}  Surprise/Fear '
              f'{t["motion_pair"]:.1f}  {"/".join(ablation.GEOMETRY_PAIR)} '
              f'{t["geometry_pair"]:.1f}  (tuning UAR '
              f'{res["tune"].get("UAR", float("nan")):.1f}; wall '
              f'{res["wall_s"]:.0f} s, CPU {res["cpu_s"]:.0f} s)', flush=True)
        runs.append(dict(comparison=key, variant=variant, seed=seed,
                         epochs=int(cfg.train_cfg.max_epochs), **res))

    record_run_end(machine, gemm_start, load_start)
    wall, cpu = time.time() - t_start, _cpu_seconds()
    summary = ablation.summarize(runs)
    targets = ablation.check_targets(runs)
    table = ablation.markdown_table(summary, targets)
    line = machine_line(machine)
    timing = (f'{wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min for '
              f'{len(runs)} runs')
    footer = (f'\nTest split, %, mean [min-max] over seeds '
              f'{", ".join(map(str, args.seeds))}. {timing} on {line}.\n')
    stem = osp.join(work, 'ablation')
    json_path, md_path = ablation.write_results(stem, dict(
        synthetic_data=True, seeds=args.seeds, comparisons=keys,
        reverse_pair=args.reverse_pair,
        tune_ratio=ablation.TUNE_RATIO,
        noise_fraction=ablation.NOISE_FRACTION,
        order_options=ablation.ORDER_OPTIONS,
        geometry_pair=list(ablation.GEOMETRY_PAIR),
        data={k: v for k, v in data.items() if k in ('demo', 'geometry')},
        labels_flipped=data.get('flipped'),
        runs=runs, summary=summary, targets=targets, machine=machine,
        seconds=round(wall, 1), cpu_seconds=round(cpu, 1)), table + footer)
    subtitle = (f'synthetic demo data, test split, {len(args.seeds)} seeds '
                f'(bars: mean, dots: seeds); {timing}')
    png = ablation.plot_bars(summary, stem + '.png', subtitle=subtitle)
    if args.png:
        ablation.plot_bars(summary, args.png, subtitle=subtitle)
    print('\n' + '=' * 78)
    print(table + footer)
    print(f' written: {md_path}, {json_path}, {png}'
          + (f', {args.png}' if args.png else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
