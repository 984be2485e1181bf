"""RAF-DB / AffectNet / FERPlus on tiny generated trees in the layouts the
dataset owners distribute."""
import copy
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from s2d_testing.fake_data import (
    AFFECTNET_CLASSES,
    RAFDB_CLASSES,
    make_fake_affectnet,
    make_fake_ferplus,
    make_fake_rafdb,
)

import s2d_mm  # noqa: F401
from s2d_mm.datasets import AffectNetDataset, FERPlusDataset, RAFDBDataset
from s2d_mm.datasets.image_datasets import ferplus_majority
from s2d_mm.datasets.utils import AnnotationError, BadSampleError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32


def pipelines(size=SIZE):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/s2d_image_pipelines.py'))
    out = {}
    for key in ('train_pipeline', 'test_pipeline'):
        pipe = copy.deepcopy(cfg[key])
        for t in pipe:
            if t['type'] == 'RandomResizedCrop':
                t['scale'] = size
            if t['type'] == 'ResizeEdge':
                t['scale'] = size + size // 8
            if t['type'] == 'CenterCrop':
                t['crop_size'] = size
        out[key] = pipe
    return out


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def test_rafdb(tmp_path):
    tree = make_fake_rafdb(str(tmp_path))
    first = open(tree['ann_file']).readline().strip()
    assert first == 'train_00001.jpg 1'  # 1-based: 1 = Surprise
    for split in ('train', 'test'):
        ds = RAFDBDataset(data_root=str(tmp_path), split=split,
                          pipeline=pipelines()[f'{split}_pipeline'],
                          test_mode=split == 'test')
        assert ds.metainfo['classes'] == RAFDB_CLASSES
        assert ds.metainfo['classes'][0] == 'Surprise'
        assert ds.metainfo['classes'][6] == 'Neutral'
        assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == \
            tree[f'{split}_labels']
        assert ds.get_data_info(0)['img_path'].endswith(
            f'Image/aligned/{split}_' + ('00001' if split == 'train' else
                                         '0001') + '_aligned.jpg')
        out = ds[4]
        assert tuple(out['inputs'].shape) == (3, SIZE, SIZE)
        assert int(out['data_samples'].gt_label) == 4  # Sadness


def test_rafdb_label_out_of_range(tmp_path):
    tree = make_fake_rafdb(str(tmp_path), num_per_class=1, test_per_class=1)
    with open(tree['ann_file'], 'a') as f:
        f.write('train_00099.jpg 0\n')
    with pytest.raises(AnnotationError,
                       match=r'list_patition_label\.txt, line 15: label 0 is '
                       r'outside \[1, 7\]'):
        RAFDBDataset(data_root=str(tmp_path), split='train')


@pytest.mark.parametrize('num_classes', [7, 8])
def test_affectnet(tmp_path, num_classes):
    tree = make_fake_affectnet(str(tmp_path), num_per_class=2,
                               test_per_class=1)
    # validation.csv ships without a header row
    assert open(tree['val_ann']).readline().count('/') == 1
    for split in ('train', 'val'):
        ds = AffectNetDataset(data_root=str(tmp_path), split=split,
                              num_classes=num_classes,
                              pipeline=pipelines()['test_pipeline'],
                              test_mode=split == 'val')
        assert ds.metainfo['classes'] == AFFECTNET_CLASSES[:num_classes]
        expect = [c for c in tree[f'{split}_codes'] if c < num_classes]
        assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == expect
        assert ds.dropped['None'] == ds.dropped['Uncertain'] == \
            ds.dropped['No-face'] == 1
        assert ('Contempt (7-class protocol)' in ds.dropped) == \
            (num_classes == 7)
        out = ds[1]
        assert tuple(out['inputs'].shape) == (3, SIZE, SIZE)
        assert len(ds.get_data_info(0)['face_bbox']) == 4


def test_affectnet_bad_rows(tmp_path):
    tree = make_fake_affectnet(str(tmp_path), num_per_class=1,
                               test_per_class=1)
    with open(tree['train_ann'], 'a') as f:
        f.write('1/x.jpg,1,2,3,4,"1;2",11,0.1,0.1\n')
    with pytest.raises(AnnotationError, match=r'training\.csv, line 13: '
                       r'expression 11 is not an AffectNet code'):
        AffectNetDataset(data_root=str(tmp_path), split='train')
    with open(tree['val_ann'], 'a') as f:
        f.write('1/y.jpg,1,2,3\n')
    with pytest.raises(AnnotationError, match=r'validation\.csv, line 12: '
                       r'expected 9 columns'):
        AffectNetDataset(data_root=str(tmp_path), split='val')


@pytest.mark.parametrize('votes,majority,plurality', [
    ([8, 2, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0),
    ([0, 0, 0, 0, 0, 0, 0, 7, 3, 0], 7, 7),        # contempt is a class
    ([1, 0, 0, 0, 0, 0, 0, 0, 9, 0], None, None),  # unknown majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10], None, None),  # not a face
    ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None, None),  # tie
    ([3, 2, 2, 2, 1, 0, 0, 0, 0, 0], None, 0),     # plurality only
    ([4, 1, 1, 1, 1, 1, 1, 0, 0, 0], 0, 0),        # single votes removed
])
def test_ferplus_vote_rules(votes, majority, plurality):
    assert ferplus_majority(votes, 'majority') == majority
    assert ferplus_majority(votes, 'plurality') == plurality


def test_ferplus(tmp_path):
    make_fake_ferplus(str(tmp_path))
    for split, folder in (('train', 'FER2013Train'), ('val', 'FER2013Valid'),
                          ('test', 'FER2013Test')):
        ds = FERPlusDataset(data_root=str(tmp_path), split=split,
                            pipeline=pipelines()['test_pipeline'],
                            test_mode=split != 'train')
        assert ds.metainfo['classes'] == (
            'Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger',
            'Disgust', 'Fear', 'Contempt')
        # one clear row per class kept; unknown, not-a-face and tie left out
        assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == \
            list(range(8))
        assert ds.dropped[
            'without a valid majority / unknown / not-a-face'] == 3
        if split == 'train':
            assert ds.dropped['removed images (empty name)'] == 1
        assert f'/{folder}/' in ds.get_data_info(0)['img_path']
        assert tuple(ds[2]['inputs'].shape) == (3, SIZE, SIZE)


def test_ferplus_malformed(tmp_path):
    tree = make_fake_ferplus(str(tmp_path))
    with open(tree['ann_file'], 'a') as f:
        f.write('Training,fer9999999.png,1,2,x,0,0,0,0,0,0,0\n')
    with pytest.raises(AnnotationError, match=r"fer2013new\.csv, line 36: "
                       r"vote count 'x' is not an integer"):
        FERPlusDataset(data_root=str(tmp_path), split='test')


def test_missing_and_corrupt_images(tmp_path):
    tree = make_fake_rafdb(str(tmp_path), num_per_class=1, test_per_class=1)
    os.remove(osp.join(tree['img_root'], 'train_00002_aligned.jpg'))
    with open(osp.join(tree['img_root'], 'train_00003_aligned.jpg'),
              'wb') as f:
        f.write(b'garbage')
    pipe = pipelines()['test_pipeline']
    ds = RAFDBDataset(data_root=str(tmp_path), split='train', pipeline=pipe)
    with pytest.raises(BadSampleError, match=r'sample 1 \(train_00002\.jpg, '
                       r'list_patition_label\.txt line 2\): image .* does not '
                       r'exist'):
        ds[1]
    with pytest.raises(BadSampleError, match=r'sample 2 .*LoadImageFromFile '
                       r'failed'):
        ds[2]
    skip = RAFDBDataset(data_root=str(tmp_path), split='train', pipeline=pipe,
                        on_bad_sample='skip')
    for i in range(len(skip)):
        assert tuple(skip[i]['inputs'].shape) == (3, SIZE, SIZE)
    assert {i for i, _ in skip.bad_sample_handler.skipped} == {1, 2}


def test_sampler_on_image_dataset(tmp_path):
    from mmpretrain.registry import DATA_SAMPLERS
    make_fake_affectnet(str(tmp_path), num_per_class=2, test_per_class=1)
    ds = AffectNetDataset(data_root=str(tmp_path), split='train',
                          num_classes=8)
    s = DATA_SAMPLERS.build(dict(type='ClassBalancedSampler'),
                            default_args=dict(dataset=ds, seed=0))
    assert len(list(s)) == len(ds) == 16


@pytest.mark.parametrize('name', ['affectnet8', 'affectnet8_heldout'])
def test_affectnet8_bases_keep_contempt_everywhere(name):
    """The 8-class bases inherit the 7-class ones: every split must say 8,
    and the held-out flavour still carves its validation part."""
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs', '_base_', 'datasets', f'{name}.py'))
    loaders = [cfg.train_dataloader, cfg.test_dataloader]
    if name.endswith('heldout'):
        loaders.append(cfg.val_dataloader)
        assert cfg.val_dataloader.dataset.val_split.part == 'val'
    else:
        assert cfg.val_dataloader is None
    for loader in loaders:
        assert loader.dataset.type == 'AffectNetDataset'
        assert loader.dataset.num_classes == 8
