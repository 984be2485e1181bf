"""Helpers shared by the S2D datasets: annotation errors, bad-sample
handling, held-out validation splits and frame-folder scanning.
"""
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


class AnnotationError(ValueError):
    """An annotation file does not parse; says which file, line and why."""

    def __init__(self, ann_file: str, line: Optional[int], reason: str):
        self.ann_file = ann_file
        self.line = line
        self.reason = reason
        where = f'{ann_file}, line {line}' if line is not None else ann_file
        super().__init__(f'{where}: {reason}')


class BadSampleError(RuntimeError):
    """A sample's media (frame folder, frame, video, image) cannot be read."""


ON_BAD_SAMPLE = ('raise', 'skip')


class BadSampleHandler:
    """What a dataset does when a sample's media cannot be loaded.

    ``'raise'`` re-raises with the sample named. ``'skip'`` logs a warning,
    counts the sample and lets mmengine's ``BaseDataset.__getitem__`` fetch
    another one (``prepare_data`` returns ``None``).

    The count is shared with dataloader workers started by ``fork`` (the
    s2d_mm runtime's start method) through a ``multiprocessing.Value``, so
    ``num_skipped`` read in the main process after an epoch is the total
    over workers and every warning states the running total. Pickled copies
    (``spawn`` workers) fall back to counting in their own process.
    """

    def __init__(self, mode: str, dataset_name: str, test_mode: bool):
        if mode not in ON_BAD_SAMPLE:
            raise ValueError(f'on_bad_sample must be one of {ON_BAD_SAMPLE}, '
                             f'got {mode!r}')
        if mode == 'skip' and test_mode:
            # A skipped test sample would be replaced by another one and
            # silently change UAR/WAR: evaluation has to see every sample.
            raise ValueError(
                f'{dataset_name}: on_bad_sample="skip" is refused in test '
                'mode (evaluation must see every annotated sample). Fix the '
                'media (see tools/data/check_dataset.py) or the annotation.')
        self.mode = mode
        self.dataset_name = dataset_name
        self.skipped: List[Tuple[int, str]] = []
        self._shared = None
        if mode == 'skip':
            import multiprocessing
            self._shared = multiprocessing.Value('i', 0)

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_shared'] = None  # shareable only by inheritance (fork)
        return state

    @property
    def num_skipped(self) -> int:
        """Samples skipped so far (over fork-started workers)."""
        if self._shared is not None:
            return int(self._shared.value)
        return len(self.skipped)

    def handle(self, idx: int, err: BadSampleError) -> None:
        if self.mode == 'raise':
            raise err
        self.skipped.append((idx, str(err)))
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared.value += 1
        print_log(
            f'{self.dataset_name}: skipped sample {idx}: {err} '
            f'({self.num_skipped} bad sample(s) skipped so far)',
            logger='current',
            level=30)


def check_label(label: int, num_classes: int, label_base: int, ann_file: str,
                line: int) -> int:
    """Turn a label read with ``label_base`` into a 0-based class index.

    Raises :class:`AnnotationError` when the label does not fit the declared
    base, so that a 1-based file read as 0-based (or the reverse) is refused
    instead of being shifted into the wrong classes.
    """
    lo, hi = label_base, label_base + num_classes - 1
    if not lo <= label <= hi:
        raise AnnotationError(
            ann_file, line,
            f'label {label} is outside [{lo}, {hi}] for {num_classes} '
            f'classes with label_base={label_base}; is the declared '
            'label_base right for this file?')
    return label - label_base


def check_label_base_consistency(labels: Sequence[int], num_classes: int,
                                 label_base: int, ann_file: str) -> None:
    """Refuse a file whose labels fit the declared base only by chance.

    Per line, a 1-based file read as 0-based fails only if it holds the
    label ``num_classes``; a 0-based file read as 1-based fails on any 0.
    A whole file with no ``0`` under ``label_base=0`` and with the top
    label present is the signature of a 1-based file: refuse it too.
    """
    present = set(labels)
    if label_base == 0 and 0 not in present and \
            num_classes - 1 in present and len(labels) >= num_classes:
        raise AnnotationError(
            ann_file, None,
            f'no sample has label 0 although labels up to {num_classes - 1} '
            'occur: this looks like a 1-based file read with label_base=0')


def detect_label_base(make_dataset: Callable[[int], object],
                      ann_file: str) -> int:
    """The label base (0 or 1) under which an annotation file loads.

    ``make_dataset(base)`` builds the dataset with ``label_base=base``; the
    dataset's own checks (:func:`check_label`,
    :func:`check_label_base_consistency`) decide. Raises
    :class:`AnnotationError` with the reason when neither base fits, or
    when both do (no label 0 and no label ``num_classes`` in the file:
    the base cannot be told from the labels and must be declared).
    """
    errors = {}
    for base in (0, 1):
        try:
            make_dataset(base)
        except AnnotationError as e:
            errors[base] = e.reason if e.ann_file == ann_file else str(e)
    fits = [base for base in (0, 1) if base not in errors]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise AnnotationError(
            ann_file, None, 'the labels fit neither label_base=0 '
            f'({errors[0]}) nor label_base=1 ({errors[1]})')
    raise AnnotationError(
        ann_file, None, 'the labels fit both label_base=0 and label_base=1 '
        '(neither label 0 nor the top class number occurs), so the base '
        'cannot be told from the file: declare it (DFEW\'s own files count '
        'from 1, the copies in the S2D release from 0)')


def stratified_split(labels: Sequence[int], ratio: float,
                     seed: int) -> Tuple[List[int], List[int]]:
    """Deterministic stratified (train, val) index split.

    Each class gives ``round(ratio * n_c)`` samples (at least one when
    ``n_c >= 2`` and ``ratio > 0``) to the validation part, chosen by a
    generator seeded with ``seed``: the same annotation file and seed give
    the same split on every machine and rank.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f'val_split ratio must be in (0, 1), got {ratio}')
    by_class: Dict[int, List[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by_class[int(lab)].append(i)
    rng = np.random.default_rng(seed)
    val: List[int] = []
    for cls in sorted(by_class):
        idxs = np.array(by_class[cls])
        n_val = int(round(ratio * len(idxs)))
        if n_val == 0 and len(idxs) >= 2:
            n_val = 1
        n_val = min(n_val, len(idxs) - 1)
        if n_val > 0:
            val.extend(rng.permutation(idxs)[:n_val].tolist())
    val_set = set(val)
    train = [i for i in range(len(labels)) if i not in val_set]
    return train, sorted(val)


def apply_val_split(data_list: List[dict], val_split: Optional[dict],
                    label_key: str = 'label') -> List[dict]:
    """Keep the ``part`` of ``data_list`` chosen by ``val_split``.

    ``val_split = dict(ratio=0.1, seed=0, part='train' | 'val')``; ``None``
    keeps everything (the paper protocol: train on the full training split).
    """
    if val_split is None:
        return data_list
    unknown = set(val_split) - {'ratio', 'seed', 'part'}
    if unknown:
        raise ValueError(f'val_split has unknown keys {sorted(unknown)}')
    part = val_split.get('part', 'train')
    if part not in ('train', 'val'):
        raise ValueError(f"val_split part must be 'train' or 'val', "
                         f'got {part!r}')
    train, val = stratified_split([d[label_key] for d in data_list],
                                  val_split.get('ratio', 0.1),
                                  val_split.get('seed', 0))
    keep = train if part == 'train' else val
    if not keep:
        raise ValueError(
            f'val_split {val_split} leaves the {part!r} part empty (a class '
            'needs at least 2 samples to give one to validation)')
    return [data_list[i] for i in keep]


def check_duplicates(ids: Sequence[str], lines: Sequence[int],
                     ann_file: str) -> None:
    """Refuse an annotation file that lists the same sample twice."""
    first: Dict[str, int] = {}
    for sid, line in zip(ids, lines):
        if sid in first:
            raise AnnotationError(
                ann_file, line,
                f'duplicate sample id {sid!r} (first seen on line '
                f'{first[sid]})')
        first[sid] = line


_NUMBERED = re.compile(r'^(.*?)(\d+)(\.[A-Za-z0-9]+)$')


class FrameNameList(str):
    """A ``filename_tmpl`` for frame folders whose names are not one
    consecutive numbered sequence (e.g. frames dropped by a face detector).

    mmaction2's ``RawFrameDecode`` calls ``filename_tmpl.format(idx)``; this
    string subclass answers with the ``idx - start_index``-th file in natural
    sort order, so the stock transform reads such folders unchanged.
    """

    def __new__(cls, names: Sequence[str], start_index: int = 0):
        obj = super().__new__(cls, f'<{len(names)} listed frames>')
        obj.names = list(names)
        obj.start_index = start_index
        return obj

    def format(self, idx, *args, **kwargs) -> str:  # noqa: A003
        i = int(idx) - self.start_index
        if not 0 <= i < len(self.names):
            raise IndexError(f'frame index {idx} outside the '
                             f'{len(self.names)} listed frames')
        return self.names[i]

    def __reduce__(self):
        return (FrameNameList, (self.names, self.start_index))


def natural_key(name: str) -> list:
    """Sort key of natural order: numbers by value (``2`` before ``10``),
    text without regard to case; names equal but for case keep a fixed
    order. The one key of the project: datasets, ``tools/infer.py`` and the
    video readers order a folder alike."""
    parts = [int(t) if t.isdigit() else t.lower()
             for t in re.split(r'(\d+)', name)]
    return parts + [name]


def scan_frame_dir(frame_dir: str,
                   extensions: Sequence[str] = IMG_EXTENSIONS
                   ) -> Tuple[int, str, int]:
    """List a frame folder: ``(total_frames, filename_tmpl, start_index)``.

    Frames are ordered by natural sort of their names (as the release orders
    zero-padded names). When the names form one consecutive numbered
    sequence with a common prefix and extension, ``filename_tmpl`` is a
    plain format string (e.g. ``'{:05d}.jpg'``) and ``start_index`` the
    first number; otherwise a :class:`FrameNameList` with start index 0.

    Raises:
        BadSampleError: the folder is missing or holds no frame.
    """
    if not osp.isdir(frame_dir):
        raise BadSampleError(f'frame folder {frame_dir} does not exist')
    exts = tuple(e.lower() for e in extensions)
    names = [
        n for n in os.listdir(frame_dir)
        if n.lower().endswith(exts) and not n.startswith('.')
    ]
    if not names:
        raise BadSampleError(
            f'frame folder {frame_dir} holds no frame ({"/".join(exts)})')
    names.sort(key=natural_key)
    parts = [_NUMBERED.match(n) for n in names]
    if all(parts):
        prefixes = {p.group(1) for p in parts}
        suffixes = {p.group(3) for p in parts}
        nums = [int(p.group(2)) for p in parts]
        consecutive = nums == list(range(nums[0], nums[0] + len(nums)))
        if len(prefixes) == 1 and len(suffixes) == 1 and consecutive:
            prefix = prefixes.pop().replace('{', '{{').replace('}', '}}')
            suffix = suffixes.pop()
            # unpadded, or zero-padded to the first name's width
            for num in ('{:d}', '{:0%dd}' % len(parts[0].group(2))):
                tmpl = prefix + num + suffix
                if all(tmpl.format(n) == name
                       for n, name in zip(nums, names)):
                    return len(names), tmpl, nums[0]
    return len(names), FrameNameList(names, 0), 0


def read_text_lines(ann_file: str) -> List[Tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines; CRLF/LF and a UTF-8
    BOM are accepted."""
    try:
        with open(ann_file, 'r', encoding='utf-8-sig', newline='') as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise AnnotationError(ann_file, None,
                              f'not UTF-8 text ({e})') from None
    lines = text.splitlines()
    return [(i + 1, ln.strip()) for i, ln in enumerate(lines) if ln.strip()]


def read_csv_rows(ann_file: str, num_columns: int,
                  header_hint: Sequence[str] = ()
                  ) -> List[Tuple[int, List[str]]]:
    """Rows of a comma-separated annotation file.

    The first row is treated as a header when it matches ``header_hint``
    (case-insensitive) or consists of words only; header names are
    otherwise not enforced (the release ignores them too).
    Every data row must have exactly ``num_columns`` fields.
    """
    import csv
    rows = []
    numbered = read_text_lines(ann_file)
    for k, (line, text) in enumerate(numbered):
        fields = [f.strip() for f in next(csv.reader([text]))]
        if k == 0:
            lowered = [f.lower() for f in fields]
            if list(lowered[:len(header_hint)]) == [
                    h.lower() for h in header_hint] and header_hint:
                continue
            if all(re.fullmatch(r'[A-Za-z_ ]+', f) for f in fields):
                continue  # a header with other column names
        if len(fields) != num_columns:
            raise AnnotationError(
                ann_file, line,
                f'expected {num_columns} comma-separated fields, got '
                f'{len(fields)}: {text!r}')
        rows.append((line, fields))
    return rows


def parse_int(text: str, ann_file: str, line: int, what: str = 'label') -> int:
    """An integer field, or an :class:`AnnotationError` naming the line."""
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(ann_file, line,
                              f'{what} {text!r} is not an integer') from None
