"""LabelledVideoDataset: path,label[,subject] with the config's classes."""
import os.path as osp

import pytest
from mmengine.registry import DefaultScope
from s2d_testing.fake_data import make_frame_folder

import s2d_mm  # noqa: F401
from s2d_mm.datasets import LabelledVideoDataset
from s2d_mm.datasets.utils import AnnotationError, BadSampleError

CLASSES = ('Happy', 'Sad', 'Neutral')


@pytest.fixture
def root(tmp_path):
    for name in ('a', 'b', 'c'):
        make_frame_folder(str(tmp_path / 'frames' / name), 4, 0)
    return tmp_path


def build(root, text, **kwargs):
    ann = root / 'ann.csv'
    ann.write_text(text)
    kwargs.setdefault('classes', CLASSES)
    with DefaultScope.overwrite_default_scope('mmaction'):
        return LabelledVideoDataset(
            ann_file=str(ann), pipeline=[],
            data_prefix=dict(video=str(root / 'frames')), **kwargs)


def test_names_subjects_and_frames(root):
    ds = build(root, 'path,label,subject\na,happy,s1\nb,Sad,s2\nc,NEUTRAL,s1\n')
    assert ds.classes == CLASSES
    assert [ds.get_data_info(i)['label'] for i in range(3)] == [0, 1, 2]
    assert [ds.get_data_info(i)['subject'] for i in range(3)] == \
        ['s1', 's2', 's1']
    info = ds.get_data_info(1)
    assert info['frame_dir'] == osp.join(str(root / 'frames'), 'b')
    assert ds.resolve_media(dict(info))['total_frames'] == 4


def test_integer_labels_need_a_base(root):
    with pytest.raises(AnnotationError, match=r'ann.csv, line 1: integer '
                       r'label .1.: declare label_base'):
        build(root, 'a,1\nb,2\n')
    ds = build(root, 'a 1\nb 3\n', label_base=1)  # whitespace TXT
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [0, 2]
    assert ds.get_data_info(0)['subject'] is None
    with pytest.raises(AnnotationError, match=r'line 2: label 3 is outside '
                       r'\[0, 2\]'):
        build(root, 'a,0\nb,3\n', label_base=0)


@pytest.mark.parametrize('text,message', [
    ('a,Happy\nb,Angry\n', r'line 2: label .Angry. is neither a class name '
     r'\(Happy, Sad, Neutral\) nor an integer'),
    ('a,Happy,s1,x\n', r'line 1: expected "path,label" or '
     r'"path,label,subject", got 4 field'),
    ('a,Happy,s1\nb,Sad\n', r'line 2: 2 fields where the file has 3'),
    ('a,Happy\na,Sad\n', r'line 2: duplicate sample id .a.'),
    ('a,Happy\nmissing,Sad\n', r'line 2: frame folder .*missing does not '
     r'exist'),
])
def test_bad_lines_name_file_and_line(root, text, message):
    with pytest.raises(AnnotationError, match=message) as err:
        build(root, text)
    assert str(err.value).startswith(str(root / 'ann.csv'))


def test_classes_come_from_the_config(root):
    with pytest.raises(ValueError, match=r'needs classes=\(\.\.\.\)'):
        build(root, 'a,Happy\n', classes=None)
    with pytest.raises(ValueError, match=r'repeated .*\[.happy.\]'):
        build(root, 'a,Happy\n', classes=('Happy', 'happy'))
    # without the media check a missing folder fails only when loaded
    ds = build(root, 'a,Happy\nmissing,Sad\n', check_media=False)
    assert len(ds) == 2
    with pytest.raises(BadSampleError, match=r'missing does not exist'):
        ds[1]
