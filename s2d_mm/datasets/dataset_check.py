"""Check a dataset tree against its annotation file.

Used by ``tools/data/check_dataset.py``. The dataset is built exactly as a
config builds it (so annotation errors surface with file, line and reason),
then every sample's media is inspected without augmentation: frame folders
(missing, empty, fewer frames than a clip, unreadable frames), video files
(missing, not decodable) and images (missing, unreadable).

By default every frame is decoded (``decode='all'``): training samples its
windows at random offsets, so any frame of a clip can be read. ``'ends'``
(the first and last ``clip_len`` frames) is the quick look.

Frame folders are also inspected for what loads but is probably wrong,
reported as warnings: numbering gaps (frames ``1, 2, 4``), the same frame
number under two names (``001.jpg`` and ``1.jpg``), and stray entries that
are not frames of the folder's extensions.
"""
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence

import mmcv
from mmengine.utils import ProgressBar

from .utils import _NUMBERED, BadSampleError, scan_frame_dir

DECODE_MODES = ('all', 'ends', 'none')


def _read_ok(path: str) -> Optional[str]:
    if not osp.isfile(path):
        return 'missing'
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return f'unreadable ({e})'
    if not data:
        return 'empty file'
    if mmcv.imfrombytes(data) is None:
        return 'not a decodable image'
    return None


def _runs(numbers: List[int]) -> str:
    """``'4, 7-9'`` for [4, 7, 8, 9]."""
    out, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(str(start) if start == n else f'{start}-{n}')
            start = None
    return ', '.join(out)


def frame_folder_warnings(frame_dir: str,
                          extensions: Sequence[str]) -> List[str]:
    """Numbering gaps, duplicated frame numbers and stray entries of a
    frame folder (loadable, but probably not what was meant)."""
    exts = tuple(e.lower() for e in extensions)
    entries = sorted(os.listdir(frame_dir))
    frames = [n for n in entries if n.lower().endswith(exts)
              and not n.startswith('.')
              and osp.isfile(osp.join(frame_dir, n))]
    warnings = []
    stray = [n for n in entries if n not in frames]
    if stray:
        shown = ', '.join(stray[:5]) + (
            f', ... ({len(stray) - 5} more)' if len(stray) > 5 else '')
        warnings.append(f'{len(stray)} stray entry(ies), not '
                        f'{"/".join(exts)} frames: {shown}')
    parts = {n: _NUMBERED.match(n) for n in frames}
    unnumbered = [n for n, m in parts.items() if m is None]
    if unnumbered:
        warnings.append(f'{len(unnumbered)} frame(s) without a number in '
                        f'the name: {", ".join(unnumbered[:5])}')
    by_number: Dict[int, List[str]] = {}
    for name, m in parts.items():
        if m is not None:
            by_number.setdefault(int(m.group(2)), []).append(name)
    dups = {k: v for k, v in sorted(by_number.items()) if len(v) > 1}
    if dups:
        shown = '; '.join(' = '.join(v) for v in list(dups.values())[:5])
        warnings.append(f'{len(dups)} frame number(s) used by several '
                        f'files: {shown}')
    if by_number:
        lo, hi = min(by_number), max(by_number)
        gaps = [n for n in range(lo, hi + 1) if n not in by_number]
        if gaps:
            warnings.append(f'numbering gap: {len(gaps)} frame number(s) '
                            f'missing between {lo} and {hi} ({_runs(gaps)})')
    return warnings


def _frame_indices(total: int, decode: str, clip_len: int) -> List[int]:
    if decode == 'all':  # a random training window can reach every frame
        return list(range(total))
    if decode == 'ends':  # quick look: first and last window only
        return sorted(set(range(min(clip_len, total)))
                      | set(range(max(0, total - clip_len), total)))
    return []


def check_sample(dataset, idx: int, decode: str = 'all',
                 clip_len: int = 16) -> Dict:
    """Inspect one sample's media; returns a record with ``problems``
    (the sample cannot be loaded) and ``warnings`` (it loads, but looks
    wrong)."""
    info = dataset.get_data_info(idx)
    rec = dict(index=idx, sample_id=info.get('sample_id', str(idx)),
               label=int(info.get('label', info.get('gt_label', -1))),
               problems=[], warnings=[])
    if 'frame_dir' in info:
        exts = getattr(dataset, 'frame_exts', ('.jpg', '.png'))
        try:
            total, tmpl, start = scan_frame_dir(info['frame_dir'], exts)
        except BadSampleError as e:
            rec['problems'].append(str(e))
            return rec
        rec['warnings'] = [f'{info["frame_dir"]}: {w}' for w in
                           frame_folder_warnings(info['frame_dir'], exts)]
        rec['total_frames'] = total
        if total < clip_len:
            rec['short'] = True
        for k in _frame_indices(total, decode, clip_len):
            path = osp.join(info['frame_dir'], tmpl.format(start + k))
            why = _read_ok(path)
            if why:
                rec['problems'].append(f'frame {path}: {why}')
    elif 'filename' in info:
        path = info['filename']
        if not osp.isfile(path):
            rec['problems'].append(f'video {path} does not exist')
            return rec
        try:
            import decord
            vr = decord.VideoReader(path, num_threads=1)
            total = len(vr)
            rec['total_frames'] = total
            if total < clip_len:
                rec['short'] = True
            inds = _frame_indices(total, decode, clip_len)
            if inds:
                vr.get_batch(inds)
        except Exception as e:  # decord raises its own error types
            rec['problems'].append(f'video {path} is not decodable '
                                   f'({type(e).__name__}: {e})')
    elif 'img_path' in info:
        if decode == 'none':
            if not osp.isfile(info['img_path']):
                rec['problems'].append(f'image {info["img_path"]}: missing')
        else:
            why = _read_ok(info['img_path'])
            if why:
                rec['problems'].append(f'image {info["img_path"]}: {why}')
    return rec


def check_dataset(dataset, decode: str = 'all', clip_len: int = 16,
                  progress: bool = True) -> Dict:
    """Walk the whole dataset; returns the report dict.

    Args:
        decode: ``'all'`` frames (every frame a training window can
            reach; default), the first and last ``clip_len`` frames only
            (``'ends'``, a quick look that misses a corrupt middle frame) or
            ``'none'`` (only list folders / check files exist).
    """
    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be 'all', 'ends' or 'none', "
                         f'got {decode!r}')
    classes = list(dataset.metainfo.get('classes', ()))
    records = []
    bar = ProgressBar(len(dataset)) if progress else None
    for idx in range(len(dataset)):
        records.append(check_sample(dataset, idx, decode, clip_len))
        if bar is not None:
            bar.update()
    counts = Counter(r['label'] for r in records)
    bad = [r for r in records if r['problems']]
    warned = [r for r in records if r['warnings']]
    short = [r for r in records if r.get('short')]
    lengths = [r['total_frames'] for r in records if 'total_frames' in r]
    report = dict(
        dataset=type(dataset).__name__,
        ann_file=getattr(dataset, 'ann_file', ''),
        num_samples=len(records),
        class_counts={(classes[c] if 0 <= c < len(classes) else str(c)): n
                      for c, n in sorted(counts.items())},
        num_bad=len(bad),
        bad_samples=[dict(index=r['index'], sample_id=r['sample_id'],
                          problems=r['problems']) for r in bad],
        num_warned=len(warned),
        warned_samples=[dict(index=r['index'], sample_id=r['sample_id'],
                             warnings=r['warnings']) for r in warned],
        num_short=len(short),
        short_samples=[r['sample_id'] for r in short],
        clip_len=clip_len,
        decode=decode)
    if lengths:
        report['frames'] = dict(min=min(lengths), max=max(lengths),
                                mean=sum(lengths) / len(lengths))
    return report


def format_report(report: Dict, max_listed: int = 50) -> str:
    """Human-readable text of a :func:`check_dataset` report."""
    lines = [f'{report["dataset"]}: {report["ann_file"]}',
             f'samples: {report["num_samples"]}', 'per class:']
    for name, n in report['class_counts'].items():
        lines.append(f'  {name:<16s} {n}')
    if 'frames' in report:
        f = report['frames']
        lines.append(f'frames per clip: min {f["min"]}, max {f["max"]}, '
                     f'mean {f["mean"]:.1f}')
        lines.append(f'clips shorter than {report["clip_len"]} frames '
                     f'(padded with their last frame): {report["num_short"]}')
    lines.append(f'samples with problems: {report["num_bad"]}')
    for r in report['bad_samples'][:max_listed]:
        for p in r['problems']:
            lines.append(f'  [{r["index"]}] {r["sample_id"]}: {p}')
    if report['num_bad'] > max_listed:
        lines.append(f'  ... {report["num_bad"] - max_listed} more in the '
                     'JSON report')
    warned = report.get('warned_samples', [])
    lines.append(f'samples with warnings (they load; check them): '
                 f'{len(warned)}')
    for r in warned[:max_listed]:
        for w in r['warnings']:
            lines.append(f'  [{r["index"]}] {r["sample_id"]}: warning: {w}')
    if len(warned) > max_listed:
        lines.append(f'  ... {len(warned) - max_listed} more in the JSON '
                     'report')
    lines.append(f'frames decoded: {report["decode"]}')
    return '\n'.join(lines)
