"""tools/data: dataset check report, FER2013 -> FERPlus image folders."""
import csv
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from s2d_testing import load_script
from s2d_testing.fake_data import make_fake_dfew, make_fake_ferplus

import s2d_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    return load_script(*rel.split('/'))


def test_check_dataset_report(tmp_path, capsys):
    tree = make_fake_dfew(str(tmp_path / 'DFEW'), num_per_class=2,
                          num_frames=[4, 20], size=16, label_base=1)
    names = tree['train_names']
    root = tree['frame_root']
    shutil.rmtree(osp.join(root, names[0]))
    with open(osp.join(root, names[1], '00020.jpg'), 'wb') as f:
        f.write(b'broken')  # last frame of a 20-frame clip
    tool = load_tool('tools/data/check_dataset.py')
    out = str(tmp_path / 'report.json')
    status = tool.main([
        osp.join(REPO, 'configs/_base_/datasets/dfew.py'), '--data-root',
        str(tmp_path / 'DFEW'), '--splits', 'train', 'test', '--out', out,
        '--cfg-options', 'fold=1'
    ])
    assert status == 1
    with open(out) as f:
        report = json.load(f)
    train = report['train']
    assert train['num_samples'] == 14
    assert train['class_counts'] == {c: 2 for c in (
        'Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear')}
    bad = {r['sample_id']: r['problems'] for r in train['bad_samples']}
    assert set(bad) == {names[0], names[1]}
    assert 'does not exist' in bad[names[0]][0]
    assert bad[names[1]] == [
        f'frame {osp.join(root, names[1], "00020.jpg")}: not a decodable '
        'image']
    # the 4-frame clips (every other one) are reported short, not bad
    assert train['num_short'] == 6 and train['frames']['max'] == 20
    assert report['test']['num_bad'] == 0
    text = capsys.readouterr().out
    assert 'samples with problems: 2' in text


def test_check_dataset_reads_what_training_reads(tmp_path, capsys):
    """A corrupt middle frame (reachable by a random training window) is
    found by default; gaps, duplicated numbers and stray files warn."""
    tree = make_fake_dfew(str(tmp_path / 'DFEW'), num_per_class=1,
                          num_frames=40, size=16, label_base=1)
    root, names = tree['frame_root'], tree['train_names']
    middle = osp.join(root, names[0], '00020.jpg')
    with open(middle, 'wb') as f:
        f.write(b'broken')
    os.remove(osp.join(root, names[1], '00005.jpg'))
    os.remove(osp.join(root, names[1], '00006.jpg'))
    shutil.copy(osp.join(root, names[2], '00003.jpg'),
                osp.join(root, names[2], '3.jpg'))
    with open(osp.join(root, names[3], 'notes.txt'), 'w') as f:
        f.write('x')
    tool = load_tool('tools/data/check_dataset.py')
    args = [osp.join(REPO, 'configs/_base_/datasets/dfew.py'), '--data-root',
            str(tmp_path / 'DFEW'), '--splits', 'train', '--cfg-options',
            'fold=1', '--out']
    assert tool.main(args + [str(tmp_path / 'all.json')]) == 1
    with open(tmp_path / 'all.json') as f:
        report = json.load(f)['train']
    assert report['decode'] == 'all'
    bad = {r['sample_id']: r['problems'] for r in report['bad_samples']}
    assert bad == {names[0]: [f'frame {middle}: not a decodable image']}
    warned = {r['sample_id']: r['warnings'] for r in report['warned_samples']}
    assert set(warned) == {names[1], names[2], names[3]}
    assert 'numbering gap: 2 frame number(s) missing between 1 and 40 (5-6)' \
        in warned[names[1]][0]
    assert 'frame number(s) used by several files: 00003.jpg = 3.jpg' in \
        warned[names[2]][0]
    assert warned[names[3]] == [
        f'{osp.join(root, names[3])}: 1 stray entry(ies), not '
        '.jpg/.jpeg/.png/.bmp/.webp frames: notes.txt']
    text = capsys.readouterr().out
    assert 'samples with warnings (they load; check them): 3' in text
    # the quick look reads only the first and last 16 frames: it misses it
    assert tool.main(args + [str(tmp_path / 'ends.json'), '--decode',
                             'ends']) == 0


def test_check_dataset_annotation_error(tmp_path, capsys):
    tree = make_fake_dfew(str(tmp_path / 'DFEW'), num_per_class=1,
                          num_frames=2, size=8, label_base=0)
    tool = load_tool('tools/data/check_dataset.py')
    status = tool.main([
        osp.join(REPO, 'configs/_base_/datasets/dfew.py'), '--data-root',
        str(tmp_path / 'DFEW'), '--splits', 'train', '--out',
        str(tmp_path / 'r.json')
    ])
    # the config declares label_base=1: a 0-based file is refused
    assert status == 1
    assert 'label 0 is outside [1, 7]' in capsys.readouterr().out
    assert tree  # tree built


def test_ferplus_images_roundtrip(tmp_path):
    tree = make_fake_ferplus(str(tmp_path / 'FERPlus'))
    shutil.rmtree(osp.join(tree['img_root'], 'FER2013Test'))
    # fer2013.csv with one row per image name of fer2013new.csv
    with open(tree['ann_file']) as f:
        rows = list(csv.reader(f))[1:]
    n = max(int(r[1][3:10]) for r in rows if r[1]) + 1
    usage_of = {int(r[1][3:10]): r[0] for r in rows if r[1]}
    fer = tmp_path / 'fer2013.csv'
    rng = np.random.default_rng(0)
    with open(fer, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['emotion', 'pixels', 'Usage'])
        for i in range(n):
            px = ' '.join(map(str, rng.integers(0, 256, 48 * 48)))
            w.writerow([0, px, usage_of.get(i, 'Training')])
    tool = load_tool('tools/data/ferplus_images.py')
    counts = tool.convert(str(fer), tree['img_root'], progress=False)
    assert sum(counts.values()) == n
    from mmengine.registry import DefaultScope

    from s2d_mm.datasets import FERPlusDataset
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = FERPlusDataset(data_root=tree['img_root'], split='test',
                            pipeline=[dict(type='LoadImageFromFile')],
                            test_mode=True)
        assert ds[0]['img'].shape == (48, 48, 3)
    assert len(os.listdir(osp.join(tree['img_root'], 'FER2013Test'))) == 11


def test_ferplus_images_bad_row(tmp_path):
    fer = tmp_path / 'fer2013.csv'
    fer.write_text('emotion,pixels,Usage\n0,1 2 3,Training\n')
    tool = load_tool('tools/data/ferplus_images.py')
    with pytest.raises(ValueError, match=r'line 2: 3 pixels, expected 2304'):
        tool.convert(str(fer), str(tmp_path / 'out'), progress=False)
