"""Static FER datasets of the image stage: RAF-DB (basic), AffectNet (7/8
classes) and FERPlus, read from the files as the dataset owners ship them.

Samples follow mmpretrain's conventions (``img_path``, 0-based
``gt_label``), so its transforms, samplers and metrics work unchanged.
"""
import csv
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset as PretrainBaseDataset

from ..registry import MMPRETRAIN_DATASETS
from .checked_loading import CheckedPipelineMixin
from .utils import (
    AnnotationError,
    BadSampleError,
    apply_val_split,
    check_duplicates,
    check_label,
    parse_int,
    read_text_lines,
)


class FERImageDataset(CheckedPipelineMixin, PretrainBaseDataset):
    """Base of the static FER datasets.

    Args:
        data_root (str): dataset root; ``ann_file`` and ``data_prefix`` are
            relative to it.
        split (str): which split of the annotation to read.
        val_split (dict, optional): ``dict(ratio, seed, part)``: keep the
            ``'train'`` or ``'val'`` part of a deterministic stratified split
            (a validation set carved out of the training split).
        on_bad_sample (str): ``'raise'`` or ``'skip'`` (training only).
    """

    SPLITS: Sequence[str] = ('train', 'test')
    METAINFO = dict(classes=())

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: str = '',
                 data_prefix: str = '',
                 val_split: Optional[dict] = None,
                 on_bad_sample: str = 'raise',
                 test_mode: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        self.split = split
        self.val_split = val_split
        self._init_bad_sample(on_bad_sample, test_mode)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            test_mode=test_mode,
            metainfo=metainfo,
            **kwargs)

    @property
    def classes(self):
        return tuple(self.metainfo['classes'])

    def parse_rows(self) -> List[dict]:
        """``dict(img_path, gt_label, sample_id, ann_line)`` per sample."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: annotation file '
                                    f'{self.ann_file} does not exist')
        rows = self.parse_rows()
        if not rows:
            raise AnnotationError(self.ann_file, None,
                                  f'no sample in split {self.split!r}')
        check_duplicates([r['sample_id'] for r in rows],
                         [r['ann_line'] for r in rows], self.ann_file)
        return apply_val_split(rows, self.val_split, label_key='gt_label')

    def resolve_media(self, data_info: dict) -> dict:
        if not osp.isfile(data_info['img_path']):
            raise BadSampleError(f'image {data_info["img_path"]} does not '
                                 'exist')
        return data_info

    def describe_sample(self, idx: int) -> str:
        info = self.get_data_info(idx)
        return (f'{type(self).__name__} sample {idx} ({info["sample_id"]}, '
                f'{osp.basename(self.ann_file)} line {info["ann_line"]})')

    def _log_dropped(self, dropped: dict) -> None:
        dropped = {k: v for k, v in dropped.items() if v}
        if dropped:
            print_log(
                f'{type(self).__name__} ({self.split}): left out by protocol: '
                + ', '.join(f'{v} {k}' for k, v in dropped.items()),
                logger='current')
        self.dropped = dropped


@MMPRETRAIN_DATASETS.register_module()
class RAFDBDataset(FERImageDataset):
    """RAF-DB basic emotions.

    Layout::

        data_root/EmoLabel/list_patition_label.txt   # sic, as distributed
        data_root/Image/aligned/train_00001_aligned.jpg
        data_root/Image/original/train_00001.jpg

    List lines are ``train_00001.jpg 5`` (``test_0001.jpg 3`` for the test
    split, chosen by the name prefix) with 1-based labels: 1 Surprise, 2
    Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral; they map to
    0-based indices in that order.

    Args:
        aligned (bool): read ``Image/aligned/<name>_aligned.jpg`` (default,
            100x100 aligned faces) or ``Image/original/<name>.jpg``.
    """

    METAINFO = dict(classes=('Surprise', 'Fear', 'Disgust', 'Happiness',
                             'Sadness', 'Anger', 'Neutral'))

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: str = 'EmoLabel/list_patition_label.txt',
                 data_prefix: Optional[str] = None,
                 aligned: bool = True,
                 label_base: int = 1,
                 **kwargs):
        self.aligned = aligned
        self.label_base = label_base
        if data_prefix is None:
            data_prefix = 'Image/aligned' if aligned else 'Image/original'
        super().__init__(data_root=data_root, split=split, ann_file=ann_file,
                         data_prefix=data_prefix, **kwargs)

    def parse_rows(self) -> List[dict]:
        rows = []
        prefix = self.data_prefix['img_path']
        for line, text in read_text_lines(self.ann_file):
            fields = text.split()
            if len(fields) != 2:
                raise AnnotationError(self.ann_file, line,
                                      f'expected "<image> <label>", got '
                                      f'{text!r}')
            name, label = fields
            split = name.split('_')[0]
            if split not in self.SPLITS:
                raise AnnotationError(
                    self.ann_file, line,
                    f'image name {name!r} starts with neither train_ nor '
                    'test_')
            label = check_label(parse_int(label, self.ann_file, line),
                                len(self.classes), self.label_base,
                                self.ann_file, line)
            if split != self.split:
                continue
            stem, ext = osp.splitext(name)
            file = f'{stem}_aligned{ext}' if self.aligned else name
            rows.append(dict(img_path=osp.join(prefix, file), gt_label=label,
                             sample_id=name, ann_line=line))
        return rows


AFFECTNET_CODES = ('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust',
                   'Anger', 'Contempt')
AFFECTNET_DROPPED_CODES = {8: 'None', 9: 'Uncertain', 10: 'No-face'}
AFFECTNET_COLUMNS = ('subDirectory_filePath', 'face_x', 'face_y',
                     'face_width', 'face_height', 'facial_landmarks',
                     'expression', 'valence', 'arousal')


@MMPRETRAIN_DATASETS.register_module()
class AffectNetDataset(FERImageDataset):
    """AffectNet, manually annotated part, 7 or 8 expression classes.

    Layout (as distributed)::

        data_root/Manually_Annotated_file_lists/training.csv
        data_root/Manually_Annotated_file_lists/validation.csv
        data_root/Manually_Annotated_Images/<subDirectory_filePath>

    CSV columns: ``subDirectory_filePath, face_x, face_y, face_width,
    face_height, facial_landmarks, expression, valence, arousal`` (a header
    row is optional: ``validation.csv`` ships without one). Expression codes:
    0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger,
    7 Contempt; 8 None, 9 Uncertain, 10 No-face are left out (counted and
    logged). With ``num_classes=7`` Contempt rows are left out too (the usual
    AffectNet-7 protocol); the code is the 0-based class index either way.
    The validation set serves as the test split (AffectNet's test set is not
    public). ``face_bbox`` (x, y, w, h) is kept in every sample.

    Args:
        split (str): ``'train'`` (training.csv) or ``'val'`` (validation.csv).
        num_classes (int): 7 or 8.
    """

    SPLITS = ('train', 'val')
    ANN_FILES = dict(train='Manually_Annotated_file_lists/training.csv',
                     val='Manually_Annotated_file_lists/validation.csv')

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 num_classes: int = 7,
                 ann_file: Optional[str] = None,
                 data_prefix: str = 'Manually_Annotated_Images',
                 **kwargs):
        if num_classes not in (7, 8):
            raise ValueError(f'AffectNetDataset: num_classes must be 7 or 8, '
                             f'got {num_classes}')
        self.num_classes = num_classes
        if ann_file is None:
            ann_file = self.ANN_FILES.get(split, '')
        super().__init__(
            data_root=data_root, split=split, ann_file=ann_file,
            data_prefix=data_prefix,
            metainfo=dict(classes=AFFECTNET_CODES[:num_classes]), **kwargs)

    def parse_rows(self) -> List[dict]:
        prefix = self.data_prefix['img_path']
        rows = []
        dropped = {name: 0 for name in AFFECTNET_DROPPED_CODES.values()}
        dropped['Contempt (7-class protocol)'] = 0
        with open(self.ann_file, newline='', encoding='utf-8-sig') as f:
            for line, fields in enumerate(csv.reader(f), start=1):
                if not fields or not ''.join(fields).strip():
                    continue
                if line == 1 and fields[0].strip() == AFFECTNET_COLUMNS[0]:
                    continue
                if len(fields) != len(AFFECTNET_COLUMNS):
                    raise AnnotationError(
                        self.ann_file, line,
                        f'expected {len(AFFECTNET_COLUMNS)} columns '
                        f'({",".join(AFFECTNET_COLUMNS)}), got {len(fields)}')
                code = parse_int(fields[6], self.ann_file, line, 'expression')
                if code in AFFECTNET_DROPPED_CODES:
                    dropped[AFFECTNET_DROPPED_CODES[code]] += 1
                    continue
                if not 0 <= code <= 7:
                    raise AnnotationError(
                        self.ann_file, line,
                        f'expression {code} is not an AffectNet code (0-10)')
                if code == 7 and self.num_classes == 7:
                    dropped['Contempt (7-class protocol)'] += 1
                    continue
                try:
                    bbox = [float(v) for v in fields[1:5]]
                except ValueError:
                    raise AnnotationError(self.ann_file, line,
                                          'face box is not numeric') from None
                rel = fields[0].strip()
                rows.append(dict(img_path=osp.join(prefix, rel),
                                 gt_label=code, face_bbox=bbox,
                                 sample_id=rel, ann_line=line))
        self._log_dropped(dropped)
        return rows


FERPLUS_VOTE_COLUMNS = ('neutral', 'happiness', 'surprise', 'sadness',
                        'anger', 'disgust', 'fear', 'contempt', 'unknown',
                        'NF')


def ferplus_majority(votes: Sequence[float], rule: str = 'majority'
                     ) -> Optional[int]:
    """The FERPlus label of one image from its 10 vote counts, or ``None``.

    ``'majority'`` (the FERPlus reference code's majority mode): votes of 1
    are removed as outliers; the top emotion needs more than half of the
    remaining votes; otherwise, or when that top is ``unknown`` / ``NF``,
    the image is left out. Ties never pass the >50 % test.
    ``'plurality'``: the arg-max of the raw votes; ties and an
    ``unknown``/``NF`` top are left out.
    """
    v = np.asarray(votes, dtype=np.float64)
    if rule == 'majority':
        v = np.where(v <= 1.0, 0.0, v)
        if v.sum() <= 0 or v.max() <= 0.5 * v.sum():
            return None
        top = int(np.argmax(v))
    elif rule == 'plurality':
        if v.max() <= 0 or (v == v.max()).sum() > 1:
            return None
        top = int(np.argmax(v))
    else:
        raise ValueError(f"vote rule must be 'majority' or 'plurality', "
                         f'got {rule!r}')
    return top if top < 8 else None


@MMPRETRAIN_DATASETS.register_module()
class FERPlusDataset(FERImageDataset):
    """FERPlus: FER2013 images with the 10-annotator labels of
    ``fer2013new.csv``.

    Layout::

        data_root/fer2013new.csv
        data_root/FER2013Train/fer0000000.png   # Usage == Training
        data_root/FER2013Valid/...              # Usage == PublicTest
        data_root/FER2013Test/...               # Usage == PrivateTest

    (the folders FERPlus's ``generate_training_data.py`` writes from
    ``fer2013.csv``; ``tools/data/ferplus_images.py`` does the same).
    CSV columns: ``Usage, Image name, neutral, happiness, surprise, sadness,
    anger, disgust, fear, contempt, unknown, NF``. Labels come from the votes
    by :func:`ferplus_majority`; images left out by the rule and rows with an
    empty image name (images FERPlus removed) are counted and logged. Classes:
    Neutral, Happiness, Surprise, Sadness, Anger, Disgust, Fear, Contempt.

    Args:
        split (str): ``'train'``, ``'val'`` (PublicTest) or ``'test'``
            (PrivateTest).
        vote_rule (str): ``'majority'`` (default) or ``'plurality'``.
    """

    METAINFO = dict(classes=('Neutral', 'Happiness', 'Surprise', 'Sadness',
                             'Anger', 'Disgust', 'Fear', 'Contempt'))
    SPLITS = ('train', 'val', 'test')
    USAGE = dict(train='Training', val='PublicTest', test='PrivateTest')
    FOLDERS = dict(Training='FER2013Train', PublicTest='FER2013Valid',
                   PrivateTest='FER2013Test')

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: str = 'fer2013new.csv',
                 data_prefix: str = '',
                 vote_rule: str = 'majority',
                 **kwargs):
        if vote_rule not in ('majority', 'plurality'):
            raise ValueError(f"vote_rule must be 'majority' or 'plurality', "
                             f'got {vote_rule!r}')
        self.vote_rule = vote_rule
        super().__init__(data_root=data_root, split=split, ann_file=ann_file,
                         data_prefix=data_prefix, **kwargs)

    def parse_rows(self) -> List[dict]:
        prefix = self.data_prefix['img_path']
        usage_wanted = self.USAGE[self.split]
        rows = []
        dropped = {'removed images (empty name)': 0,
                   'without a valid majority / unknown / not-a-face': 0}
        with open(self.ann_file, newline='', encoding='utf-8-sig') as f:
            for line, fields in enumerate(csv.reader(f), start=1):
                if not fields or not ''.join(fields).strip():
                    continue
                if line == 1 and fields[0].strip().lower() == 'usage':
                    continue
                if len(fields) != 12:
                    raise AnnotationError(
                        self.ann_file, line,
                        f'expected 12 columns (Usage, Image name, 10 vote '
                        f'counts), got {len(fields)}')
                usage, name = fields[0].strip(), fields[1].strip()
                if usage not in self.FOLDERS:
                    raise AnnotationError(
                        self.ann_file, line,
                        f'unknown Usage {usage!r} (expected one of '
                        f'{", ".join(self.FOLDERS)})')
                votes = [parse_int(v, self.ann_file, line, 'vote count')
                         for v in fields[2:]]
                if any(v < 0 for v in votes):
                    raise AnnotationError(self.ann_file, line,
                                          'negative vote count')
                if usage != usage_wanted:
                    continue
                if not name:
                    dropped['removed images (empty name)'] += 1
                    continue
                label = ferplus_majority(votes, self.vote_rule)
                if label is None:
                    dropped[
                        'without a valid majority / unknown / not-a-face'] += 1
                    continue
                rows.append(dict(
                    img_path=osp.join(prefix, self.FOLDERS[usage], name),
                    gt_label=label, sample_id=name, ann_line=line))
        self._log_dropped(dropped)
        return rows
