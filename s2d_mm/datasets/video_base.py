"""Common base of the video FER datasets (DFEW, FERV39k, MAFW)."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmaction.datasets import BaseActionDataset

from .checked_loading import CheckedPipelineMixin
from .utils import (
    IMG_EXTENSIONS,
    AnnotationError,
    BadSampleError,
    apply_val_split,
    check_duplicates,
    check_label,
    check_label_base_consistency,
    scan_frame_dir,
)

# One parsed annotation row: (sample id, path relative to the media root,
# raw label as written in the file, 1-based line number).
AnnRow = Tuple[str, str, int, int]


def format_fold(ann_file: str, fold: Optional[int], name: str) -> str:
    """Put the fold number into an ``ann_file`` template such as
    ``'.../train_set_{fold}.csv'``."""
    if '{fold}' in ann_file:
        if fold is None:
            raise ValueError(f'{name}: ann_file {ann_file!r} needs a fold '
                             '(set fold=1..5)')
        return ann_file.format(fold=fold)
    if fold is not None:
        raise ValueError(f'{name}: fold={fold} given but ann_file '
                         f'{ann_file!r} has no {{fold}} placeholder')
    return ann_file


class FERVideoDataset(CheckedPipelineMixin, BaseActionDataset):
    """Base of the video facial-expression datasets.

    Samples follow mmaction2's conventions so that its transforms work as
    they are: frame folders give ``frame_dir``, ``total_frames``,
    ``filename_tmpl``, ``start_index`` (for ``SampleFrames`` +
    ``RawFrameDecode``), video files give ``filename`` (for ``DecordInit`` +
    ``DecordDecode``); every sample has a 0-based ``label``. A frame folder
    is listed when the sample is loaded (no dataset-wide walk at start-up);
    its frames are taken in natural name order.

    Args:
        ann_file (str): annotation file of the split; may hold ``{fold}``.
        pipeline (list): mmaction2 transforms.
        data_prefix (dict): ``dict(video=root)``, the folder holding the frame
            folders or the video files.
        fold (int, optional): fold number put into ``ann_file``.
        label_base (int): whether integer labels in the file count from 0 or
            1. A label that does not fit is refused.
        media (str): ``'frames'`` (frame folders) or ``'video'`` (files read
            by decord).
        video_ext (str): extension appended to the sample path in video mode.
        frame_exts (tuple): image extensions counted as frames.
        val_split (dict, optional): ``dict(ratio, seed, part)``: keep only the
            ``'train'`` or ``'val'`` part of a deterministic stratified split
            of this file (a validation set carved out of the training split).
        on_bad_sample (str): ``'raise'`` (default) or ``'skip'`` (training
            only: log, count, and load another sample).
        test_mode (bool): evaluation dataset.
    """

    METAINFO = dict(classes=())
    #: label base of the distributed annotation files (None: must be given)
    DEFAULT_LABEL_BASE: Optional[int] = 0

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[dict, Callable]],
                 data_prefix: dict = dict(video=''),
                 fold: Optional[int] = None,
                 label_base: Optional[int] = None,
                 media: str = 'frames',
                 video_ext: str = '.mp4',
                 frame_exts: Sequence[str] = IMG_EXTENSIONS,
                 val_split: Optional[dict] = None,
                 on_bad_sample: str = 'raise',
                 test_mode: bool = False,
                 **kwargs) -> None:
        name = type(self).__name__
        if label_base is None:
            label_base = self.DEFAULT_LABEL_BASE
        if label_base is None:
            raise ValueError(
                f'{name}: declare label_base=0 or 1 (whether the labels in '
                f'{ann_file} count classes from 0 or from 1)')
        if label_base not in (0, 1):
            raise ValueError(f'{name}: label_base must be 0 or 1, '
                             f'got {label_base!r}')
        if media not in ('frames', 'video'):
            raise ValueError(f"{name}: media must be 'frames' or 'video', "
                             f'got {media!r}')
        if 'video' not in data_prefix:
            raise ValueError(f"{name}: data_prefix needs the key 'video' "
                             f'(root of the frame folders or videos), got '
                             f'{data_prefix}')
        self.fold = fold
        self.label_base = label_base
        self.media = media
        self.video_ext = video_ext
        self.frame_exts = tuple(frame_exts)
        self.val_split = val_split
        self._init_bad_sample(on_bad_sample, test_mode)
        super().__init__(
            format_fold(ann_file, fold, name),
            pipeline=pipeline,
            data_prefix=data_prefix,
            test_mode=test_mode,
            start_index=0,
            **kwargs)

    @property
    def classes(self) -> Tuple[str, ...]:
        return tuple(self.metainfo['classes'])

    # ---- annotation parsing ----------------------------------------------
    def parse_annotations(self) -> List[AnnRow]:
        """Rows of ``self.ann_file``; subclasses implement the format."""
        raise NotImplementedError

    def raw_label_to_index(self, raw: int, line: int) -> int:
        return check_label(raw, len(self.classes), self.label_base,
                           self.ann_file, line)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist')
        rows = self.parse_annotations()
        if not rows:
            raise AnnotationError(self.ann_file, None, 'no sample listed')
        check_duplicates([r[0] for r in rows], [r[3] for r in rows],
                         self.ann_file)
        root = self.data_prefix['video']
        data_list = []
        raw_labels = []
        for sample_id, rel_path, raw, line in rows:
            label = self.raw_label_to_index(raw, line)
            raw_labels.append(raw)
            info = dict(sample_id=sample_id, label=label, ann_line=line)
            if self.media == 'frames':
                info['frame_dir'] = osp.join(root, rel_path)
            else:
                info['filename'] = osp.join(root, rel_path + self.video_ext)
            data_list.append(info)
        if self.integer_labels:
            check_label_base_consistency(raw_labels, len(self.classes),
                                         self.label_base, self.ann_file)
        return apply_val_split(data_list, self.val_split)

    #: whether the file stores integer labels (label_base applies)
    integer_labels = True

    # ---- samples -----------------------------------------------------------
    # BaseActionDataset.get_data_info sets start_index=0 (passed above);
    # resolve_media overrides it for frame folders.
    def resolve_media(self, data_info: dict) -> dict:
        if self.media == 'frames':
            total, tmpl, start = scan_frame_dir(data_info['frame_dir'],
                                                self.frame_exts)
            data_info['total_frames'] = total
            data_info['filename_tmpl'] = tmpl
            data_info['start_index'] = start
        elif not osp.isfile(data_info['filename']):
            raise BadSampleError(
                f'video file {data_info["filename"]} does not exist')
        return data_info

    def describe_sample(self, idx: int) -> str:
        info = self.get_data_info(idx)
        return (f'{type(self).__name__} sample {idx} (id {info["sample_id"]},'
                f' {osp.basename(self.ann_file)} line {info["ann_line"]})')

    def get_cat_ids(self, idx: int) -> List[int]:
        return [int(self.get_data_info(idx)['label'])]

    def get_gt_labels(self) -> np.ndarray:
        """0-based labels of all samples, ``(N,)`` int64."""
        return np.array(
            [self.get_data_info(i)['label'] for i in range(len(self))],
            dtype=np.int64)
