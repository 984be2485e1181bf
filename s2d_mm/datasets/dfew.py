"""DFEW (Dynamic Facial Expression in the Wild), 5-fold protocol."""
from typing import List

from ..registry import MMACTION_DATASETS
from .utils import parse_int, read_csv_rows
from .video_base import AnnRow, FERVideoDataset


@MMACTION_DATASETS.register_module()
class DFEWDataset(FERVideoDataset):
    """DFEW clips, one fold's ``train_set_k.csv`` / ``test_set_k.csv``.

    Annotation (``EmoLabel_DataSplit/{train,test}(single-labeled)/``)::

        video_name,label
        00001,2

    ``video_name`` is the zero-padded clip id, also the name of the clip's
    frame folder (e.g. ``Clip/clip_224x224_16f/00001/``) or video. The
    dataset's own files number the classes from 1; the copies shipped with
    the S2D release are shifted to 0: declare which with ``label_base``
    (required: 1 for the dataset's own files, 0 for the release's copies). Class order (0-based):
    Happy, Sad, Neutral, Angry, Surprise, Disgust, Fear.

    Example::

        DFEWDataset(
            ann_file='data/DFEW/EmoLabel_DataSplit/train(single-labeled)/'
                     'train_set_{fold}.csv',
            fold=1, label_base=1,
            data_prefix=dict(video='data/DFEW/Clip/clip_224x224_16f'),
            pipeline=[...])
    """

    METAINFO = dict(classes=('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                             'Disgust', 'Fear'))
    DEFAULT_LABEL_BASE = None  # both bases are in circulation: declare it

    def parse_annotations(self) -> List[AnnRow]:
        rows = []
        for line, (name, label) in read_csv_rows(
                self.ann_file, 2, header_hint=('video_name', 'label')):
            rows.append((name, name, parse_int(label, self.ann_file, line),
                         line))
        return rows
