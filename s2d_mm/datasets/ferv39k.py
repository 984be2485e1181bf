"""FERV39k, official train/test split."""
from typing import List

from ..registry import MMACTION_DATASETS
from .utils import AnnotationError, parse_int, read_csv_rows
from .video_base import AnnRow, FERVideoDataset


@MMACTION_DATASETS.register_module()
class FERV39kDataset(FERVideoDataset):
    """FERV39k clips (``Annotation/{train,test}.csv``).

    Annotation::

        path,id
        Crime/Angry/0063,0

    ``path`` is ``scene/class/clip`` under ``2_ClipsforFaceCrop``; ``id``
    is 0-based in the alphabetical order of ``label_index.txt``: Angry,
    Disgust, Fear, Happy, Neutral, Sad, Surprise. The class folder in
    ``path`` is checked against ``id``: a disagreement (wrong label base or
    order) is refused.
    """

    METAINFO = dict(classes=('Angry', 'Disgust', 'Fear', 'Happy', 'Neutral',
                             'Sad', 'Surprise'))
    DEFAULT_LABEL_BASE = 0

    def parse_annotations(self) -> List[AnnRow]:
        rows = []
        for line, (path, label) in read_csv_rows(
                self.ann_file, 2, header_hint=('path', 'id')):
            path = path.strip('/').replace('\\', '/')
            rows.append((path, path, parse_int(label, self.ann_file, line),
                         line))
        return rows

    def load_data_list(self):
        data_list = super().load_data_list()
        lowered = [c.lower() for c in self.classes]
        for info in data_list:
            parts = info['sample_id'].split('/')
            if len(parts) >= 2 and parts[-2].lower() in lowered:
                folder_cls = lowered.index(parts[-2].lower())
                if folder_cls != info['label']:
                    raise AnnotationError(
                        self.ann_file, info['ann_line'],
                        f'path {info["sample_id"]!r} is in class folder '
                        f'{parts[-2]!r} but its id reads as class '
                        f'{self.classes[info["label"]]!r} (label_base='
                        f'{self.label_base})')
        return data_list
