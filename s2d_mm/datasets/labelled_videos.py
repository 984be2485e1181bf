"""One's own labelled clips: ``path,label[,subject]`` with the class list
of the config."""
import os.path as osp
from typing import List, Optional, Sequence

from ..registry import MMACTION_DATASETS
from .utils import AnnotationError, read_text_lines
from .video_base import AnnRow, FERVideoDataset

#: header names recognised in the first row (case-insensitive)
HEADER = ('path', 'label', 'subject')


def parse_labelled_rows(ann_file: str) -> List[dict]:
    """Rows of a ``path,label[,subject]`` file, as written.

    Comma-separated, or whitespace-separated when a line has no comma (TXT
    lists); a first row ``path,label[,subject]`` is a header. Blank lines
    are skipped; every other line must have 2 or 3 fields, and all rows
    the same number.

    Returns:
        list[dict]: ``line`` (1-based), ``path``, ``label`` (text),
        ``subject`` (text or None).
    """
    import csv
    rows = []
    width = None
    for k, (line, text) in enumerate(read_text_lines(ann_file)):
        if ',' in text:
            fields = [f.strip() for f in next(csv.reader([text]))]
        else:
            fields = text.split()
        if k == 0 and [f.lower() for f in fields] == list(
                HEADER[:len(fields)]) and len(fields) >= 2:
            width = len(fields)
            continue
        if len(fields) not in (2, 3):
            raise AnnotationError(
                ann_file, line,
                f'expected "path,label" or "path,label,subject", got '
                f'{len(fields)} field(s): {text!r}')
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise AnnotationError(
                ann_file, line,
                f'{len(fields)} fields where the file has {width} '
                '(every row needs a subject, or none does)')
        if not all(fields):
            raise AnnotationError(ann_file, line,
                                  f'empty field in {text!r}')
        rows.append(dict(line=line, path=fields[0], label=fields[1],
                         subject=fields[2] if len(fields) == 3 else None))
    return rows


@MMACTION_DATASETS.register_module()
class LabelledVideoDataset(FERVideoDataset):
    """Clips of one's own recordings, e.g. as written by
    ``tools/data/extract_faces.py``.

    Annotation (CSV, or whitespace-separated TXT; the header is optional)::

        path,label,subject
        happy_s01_take2,Happy,s01
        s02/interview_3,2,s02

    ``path`` is the frame folder (or video, ``media='video'``) under
    ``data_prefix['video']``. ``label`` is a class name of ``classes``
    (matched without regard to case) or an integer counted from
    ``label_base``. ``subject`` (optional) names the person; it is kept in
    each sample (``data_info['subject']``) and is what
    ``tools/data/make_folds.py`` keeps apart.

    Args:
        classes (Sequence[str]): the class list, in label order (from the
            config; its length is the model's ``num_classes``).
        label_base (int, optional): 0 or 1; required when the file holds
            integer labels.
        check_media (bool): check when the dataset is built that every
            frame folder (video file) exists, and refuse a missing one
            with the file and line. Defaults to True.
        **kwargs: see :class:`~s2d_mm.datasets.video_base.FERVideoDataset`.
    """

    METAINFO = dict(classes=())
    DEFAULT_LABEL_BASE = None

    def __init__(self, *args, classes: Optional[Sequence[str]] = None,
                 check_media: bool = True, **kwargs):
        if not classes or isinstance(classes, str):
            raise ValueError(
                'LabelledVideoDataset needs classes=(...): the class list, '
                'in label order (set `classes` in the config)')
        classes = tuple(str(c) for c in classes)
        lowered = [c.lower() for c in classes]
        dup = sorted({c for c in lowered if lowered.count(c) > 1})
        if dup:
            raise ValueError(f'LabelledVideoDataset: class names repeated '
                             f'in classes={classes}: {dup}')
        self.check_media = check_media
        self._label_base_given = kwargs.get('label_base') is not None
        self._named = set()  # lines whose label is a class name
        if 'metainfo' in kwargs:
            raise ValueError('LabelledVideoDataset: give the classes as '
                             'classes=(...), not through metainfo')
        # label_base matters only for integer labels: checked per line
        if kwargs.get('label_base') is None:
            kwargs['label_base'] = 0
        super().__init__(*args, metainfo=dict(classes=classes), **kwargs)

    def parse_annotations(self) -> List[AnnRow]:
        words = {c.lower(): i for i, c in enumerate(self.classes)}
        self._subjects = {}
        self._named = set()
        rows = []
        for row in parse_labelled_rows(self.ann_file):
            line, label = row['line'], row['label']
            path = row['path'].replace('\\', '/').strip('/')
            sid = osp.splitext(path)[0] if self.media == 'video' else path
            if label.lower() in words:
                raw = words[label.lower()]
                self._named.add(line)
            else:
                try:
                    raw = int(label)
                except ValueError:
                    raise AnnotationError(
                        self.ann_file, line,
                        f'label {label!r} is neither a class name '
                        f'({", ".join(self.classes)}) nor an integer'
                    ) from None
                if not self._label_base_given:
                    raise AnnotationError(
                        self.ann_file, line,
                        f'integer label {label!r}: declare label_base=0 or '
                        '1 (whether the integers count classes from 0 or 1)')
            self._subjects[line] = row['subject']
            rows.append((sid, sid, raw, line))
        return rows

    @property
    def integer_labels(self) -> bool:
        return not self._named

    def raw_label_to_index(self, raw: int, line: int) -> int:
        if line in self._named:
            return raw
        return super().raw_label_to_index(raw, line)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for info in data_list:
            info['subject'] = self._subjects[info['ann_line']]
            if not self.check_media:
                continue
            if self.media == 'frames' and not osp.isdir(info['frame_dir']):
                raise AnnotationError(
                    self.ann_file, info['ann_line'],
                    f'frame folder {info["frame_dir"]} does not exist')
            if self.media == 'video' and not osp.isfile(info['filename']):
                raise AnnotationError(
                    self.ann_file, info['ann_line'],
                    f'video {info["filename"]} does not exist')
        return data_list
