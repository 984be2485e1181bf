"""MAFW, single-label 5-fold protocol (11 classes)."""
import os.path as osp
from typing import List

from ..registry import MMACTION_DATASETS
from .utils import AnnotationError, parse_int, read_csv_rows, read_text_lines
from .video_base import AnnRow, FERVideoDataset


@MMACTION_DATASETS.register_module()
class MAFWDataset(FERVideoDataset):
    """MAFW clips, ``anno/single/no_caption/set_k/{train,test}.{txt,csv}``.

    Two forms of the same split are distributed and both are read:

    - ``.txt``: lines ``03747.mp4 anger`` (file name and lower-case class
      word, CRLF line ends);
    - ``.csv``: ``video_name,labels`` with 0-based integer labels.

    The sample id is the file name without extension; it names the frame
    folder (``data/frames/frames_crop_align_224/03747/*.png``) or the video
    (``data/clips/03747.mp4``). Class order (``id_to_calss.txt``, 0-based,
    alphabetical): Anger, Anxiety, Contempt, Disappointment, Disgust, Fear,
    Happiness, Helplessness, Neutral, Sadness, Surprise.

    Args:
        ann_format (str): ``'auto'`` (by extension), ``'txt'`` or ``'csv'``.
    """

    METAINFO = dict(
        classes=('Anger', 'Anxiety', 'Contempt', 'Disappointment', 'Disgust',
                 'Fear', 'Happiness', 'Helplessness', 'Neutral', 'Sadness',
                 'Surprise'))
    DEFAULT_LABEL_BASE = 0

    def __init__(self, *args, ann_format: str = 'auto', **kwargs):
        if ann_format not in ('auto', 'txt', 'csv'):
            raise ValueError(f"ann_format must be 'auto', 'txt' or 'csv', "
                             f'got {ann_format!r}')
        self.ann_format = ann_format
        super().__init__(*args, **kwargs)

    def _format(self) -> str:
        if self.ann_format != 'auto':
            return self.ann_format
        ext = osp.splitext(self.ann_file)[1].lower()
        if ext not in ('.txt', '.csv'):
            raise ValueError(f'MAFWDataset: cannot tell the format of '
                             f'{self.ann_file}; set ann_format')
        return ext[1:]

    @property
    def integer_labels(self) -> bool:
        return self._format() == 'csv'

    def parse_annotations(self) -> List[AnnRow]:
        rows = []
        if self._format() == 'csv':
            for line, (name, label) in read_csv_rows(
                    self.ann_file, 2, header_hint=('video_name', 'labels')):
                sid = osp.splitext(name)[0]
                rows.append((sid, sid, parse_int(label, self.ann_file, line),
                             line))
            return rows
        words = {c.lower(): i for i, c in enumerate(self.classes)}
        for line, text in read_text_lines(self.ann_file):
            fields = text.split()
            if len(fields) != 2:
                raise AnnotationError(
                    self.ann_file, line,
                    f'expected "<file> <class word>", got {text!r}')
            name, word = fields
            if word.lower() not in words:
                raise AnnotationError(
                    self.ann_file, line,
                    f'unknown class word {word!r} (MAFW single-label classes:'
                    f' {", ".join(sorted(words))})')
            sid = osp.splitext(name)[0]
            # stored 0-based so that label_base does not apply to words
            rows.append((sid, sid, words[word.lower()], line))
        return rows

    def raw_label_to_index(self, raw: int, line: int) -> int:
        if self._format() == 'txt':
            return raw
        return super().raw_label_to_index(raw, line)
