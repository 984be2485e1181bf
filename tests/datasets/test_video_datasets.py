"""DFEW / FERV39k / MAFW datasets on tiny generated trees in the official
layouts, through the configs' train and test pipelines."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from s2d_testing.fake_data import (
    DFEW_CLASSES,
    FERV39K_CLASSES,
    MAFW_CLASSES,
    make_fake_dfew,
    make_fake_ferv39k,
    make_fake_mafw,
)

import s2d_mm  # noqa: F401
from s2d_mm.datasets import DFEWDataset, FERV39kDataset, MAFWDataset
from s2d_mm.datasets.utils import AnnotationError, BadSampleError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32  # frames are resized to SIZE instead of 224 to keep tests small


def pipelines(size=SIZE):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/s2d_video_pipelines.py'))
    out = {}
    for key in ('train_pipeline', 'val_pipeline', 'test_pipeline'):
        pipe = copy.deepcopy(cfg[key])
        for t in pipe:
            if t['type'] == 'Resize':
                t['scale'] = (size, size)
            if t['type'] == 'SpatialCrops':
                t['crop_size'] = size
        out[key] = pipe
    return out


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture(scope='module')
def dfew_trees(tmp_path_factory):
    root = tmp_path_factory.mktemp('dfew')
    # clip lengths cycle 6 (short: padded) and 20 (long: windows differ)
    return {
        base: make_fake_dfew(str(root / f'base{base}'), num_per_class=2,
                             num_frames=[6, 20], label_base=base,
                             folds=(1, 2))
        for base in (0, 1)
    }


def build_dfew(tree, base, split='train', **kwargs):
    kwargs.setdefault('pipeline', pipelines()[f'{split}_pipeline'])
    return DFEWDataset(
        ann_file=tree[f'{split}_ann'], fold=1, label_base=base,
        data_prefix=dict(video=tree['frame_root']),
        test_mode=split == 'test', **kwargs)


@pytest.mark.parametrize('base', [0, 1])
def test_dfew_both_label_bases(dfew_trees, base):
    tree = dfew_trees[base]
    train = build_dfew(tree, base, 'train')
    assert train.metainfo['classes'] == DFEW_CLASSES
    assert len(train) == len(tree['train_labels'])
    assert [train.get_cat_ids(i)[0] for i in range(len(train))] == \
        tree['train_labels']
    out = train[3]
    assert tuple(out['inputs'].shape) == (1, 3, 16, SIZE, SIZE)
    assert int(out['data_samples'].gt_labels.item) == tree['train_labels'][3]

    test = build_dfew(tree, base, 'test')
    out = test[1]
    # 2 temporal windows x 2 spatial crops
    assert tuple(out['inputs'].shape) == (4, 3, 16, SIZE, SIZE)
    assert int(out['data_samples'].gt_labels.item) == tree['test_labels'][1]


def test_dfew_label_base_must_be_declared(dfew_trees):
    with pytest.raises(ValueError, match='declare label_base'):
        DFEWDataset(ann_file=dfew_trees[1]['train_ann'], fold=1, pipeline=[],
                    data_prefix=dict(video=dfew_trees[1]['frame_root']))


def test_dfew_refuses_wrong_label_base(dfew_trees):
    # 1-based file read as 0-based: label 7 does not fit [0, 6]
    with pytest.raises(AnnotationError, match=r'train_set_1\.csv, line \d+: '
                       r'label 7 is outside \[0, 6\]'):
        build_dfew(dfew_trees[1], 0, pipeline=[])
    # 0-based file read as 1-based: label 0 does not fit [1, 7]
    with pytest.raises(AnnotationError, match=r'line 2: label 0 is outside'):
        build_dfew(dfew_trees[0], 1, pipeline=[])


def test_dfew_fold_template(dfew_trees):
    tree = dfew_trees[0]
    ds = DFEWDataset(ann_file=tree['train_ann'], fold=2, label_base=0,
                     data_prefix=dict(video=tree['frame_root']), pipeline=[])
    assert ds.ann_file.endswith('train_set_2.csv')
    with pytest.raises(ValueError, match='needs a fold'):
        DFEWDataset(ann_file=tree['train_ann'], label_base=0, pipeline=[],
                    data_prefix=dict(video=tree['frame_root']))


def _frame_ids(inputs):
    """Frame index t encoded in channel 0 (value 10 t + 5) of each view."""
    v = inputs[:, 0, :, SIZE // 2, SIZE // 2].numpy().astype(float)
    return np.round((v - 5) / 10).astype(int)


def test_test_windows_first_last_and_padding(dfew_trees):
    tree = dfew_trees[0]
    names = tree['test_names']
    pipe = pipelines()['test_pipeline']
    test = build_dfew(tree, 0, 'test', pipeline=pipe)
    nframes = [len(os.listdir(osp.join(tree['frame_root'], n)))
               for n in names]
    for idx, n in enumerate(nframes):
        ids = _frame_ids(test[idx]['inputs'])
        # views are crop-major: crop0 (win0, win1), crop1 (win0, win1)
        if n >= 16:
            first, last = np.arange(16), np.arange(n - 16, n)
        else:
            first = last = np.minimum(np.arange(16), n - 1)
        np.testing.assert_array_equal(ids[0], first)
        np.testing.assert_array_equal(ids[1], last)
        np.testing.assert_array_equal(ids[2], first)
        np.testing.assert_array_equal(ids[3], last)
    assert {6, 20} <= set(nframes)


def test_train_window_is_consecutive(dfew_trees):
    tree = dfew_trees[0]
    pipe = [t for t in pipelines()['val_pipeline']]
    pipe[0] = dict(type='SampleFrames', clip_len=16, frame_interval=1,
                   num_clips=1, out_of_bound_opt='repeat_last')
    ds = build_dfew(tree, 0, 'train', pipeline=pipe)
    for idx in range(4):
        ids = _frame_ids(ds[idx]['inputs'])[0]
        n = len(os.listdir(ds.get_data_info(idx)['frame_dir']))
        if n <= 16:
            np.testing.assert_array_equal(ids, np.minimum(np.arange(16),
                                                          n - 1))
        else:
            np.testing.assert_array_equal(ids, ids[0] + np.arange(16))


def test_release_sample_frames_never_starts_at_last_window():
    from s2d_mm.datasets import ReleaseSampleFrames
    t = ReleaseSampleFrames(clip_len=16)
    starts = {int(t(dict(total_frames=20, start_index=0))['frame_inds'][0])
              for _ in range(300)}
    assert starts == {0, 1, 2, 3}  # never 4 = N - 16
    short = t(dict(total_frames=6, start_index=1))['frame_inds']
    np.testing.assert_array_equal(short, np.minimum(np.arange(16), 5) + 1)


@pytest.mark.parametrize('form', ['txt', 'csv'])
def test_mafw_txt_and_csv(tmp_path, form):
    tree = make_fake_mafw(str(tmp_path), form=form, num_per_class=1,
                          test_per_class=1, num_frames=4)
    if form == 'txt':
        with open(tree['train_ann'].format(fold=1), 'rb') as f:
            assert b'\r\n' in f.read()  # CRLF, as distributed
    ds = MAFWDataset(ann_file=tree['train_ann'], fold=1,
                     data_prefix=dict(video=tree['frame_root']),
                     pipeline=pipelines()['train_pipeline'])
    assert ds.metainfo['classes'] == MAFW_CLASSES
    assert len(ds.metainfo['classes']) == 11
    assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == \
        tree['train_labels']
    out = ds[10]
    assert tuple(out['inputs'].shape) == (1, 3, 16, SIZE, SIZE)
    assert int(out['data_samples'].gt_labels.item) == 10  # Surprise
    test = MAFWDataset(ann_file=tree['test_ann'], fold=1, test_mode=True,
                       data_prefix=dict(video=tree['frame_root']),
                       pipeline=pipelines()['test_pipeline'])
    assert tuple(test[0]['inputs'].shape) == (4, 3, 16, SIZE, SIZE)


def test_mafw_videos_through_decord(tmp_path):
    tree = make_fake_mafw(str(tmp_path), form='csv', num_per_class=1,
                          test_per_class=0, num_frames=20, with_videos=True)
    pipe = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=1,
             num_clips=2, test_mode=True, out_of_bound_opt='repeat_last'),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=False),
        dict(type='SpatialCrops', crop_size=SIZE, num_crops=2),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    ds = MAFWDataset(ann_file=tree['train_ann'], fold=1, media='video',
                     data_prefix=dict(video=tree['video_root']),
                     pipeline=pipe, test_mode=True)
    assert ds.get_data_info(2)['start_index'] == 0  # decord counts from 0
    out = ds[2]
    assert tuple(out['inputs'].shape) == (4, 3, 16, SIZE, SIZE)
    ids = _frame_ids(out['inputs'])
    # mp4 compression blurs values a little: compare to the window ids
    assert np.abs(ids[0] - np.arange(16)).max() <= 1
    assert np.abs(ids[1] - np.arange(4, 20)).max() <= 1


def test_mafw_unknown_word(tmp_path):
    tree = make_fake_mafw(str(tmp_path), form='txt', num_per_class=1)
    path = tree['train_ann'].format(fold=1)
    with open(path, 'ab') as f:
        f.write(b'09999.mp4 boredom\r\n')
    with pytest.raises(AnnotationError,
                       match=r"train\.txt, line 12: unknown class word "
                       r"'boredom'"):
        MAFWDataset(ann_file=tree['train_ann'], fold=1, pipeline=[],
                    data_prefix=dict(video=tree['frame_root']))


def test_ferv39k_nested_paths(tmp_path):
    tree = make_fake_ferv39k(str(tmp_path), num_per_class=1)
    ds = FERV39kDataset(ann_file=tree['train_ann'],
                        data_prefix=dict(video=tree['frame_root']),
                        pipeline=pipelines()['train_pipeline'])
    assert ds.metainfo['classes'] == FERV39K_CLASSES
    assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == \
        tree['train_labels']
    info = ds.get_data_info(3)
    assert info['frame_dir'].endswith(tree['train_paths'][3])
    assert tree['train_paths'][3].split('/')[1:] == ['Happy', '0004']
    out = ds[3]
    assert tuple(out['inputs'].shape) == (1, 3, 16, SIZE, SIZE)
    assert int(out['data_samples'].gt_labels.item) == 3


def test_ferv39k_label_disagreeing_with_class_folder(tmp_path):
    tree = make_fake_ferv39k(str(tmp_path), num_per_class=1)
    with open(tree['train_ann'], 'a') as f:
        f.write('Crime/Angry/0999,3\n')
    with pytest.raises(AnnotationError, match="line 9: path 'Crime/Angry/"
                       "0999' is in class folder 'Angry' but its id reads as "
                       "class 'Happy'"):
        FERV39kDataset(ann_file=tree['train_ann'], pipeline=[],
                       data_prefix=dict(video=tree['frame_root']))


def test_empty_val_split_refused(tmp_path):
    tree = make_fake_dfew(str(tmp_path), num_per_class=1, num_frames=1,
                          size=8, test_per_class=0)
    with pytest.raises(ValueError, match="leaves the 'val' part empty"):
        DFEWDataset(ann_file=tree['train_ann'], fold=1, label_base=0,
                    data_prefix=dict(video=tree['frame_root']), pipeline=[],
                    val_split=dict(ratio=0.1, seed=0, part='val'))


def test_val_split_is_stratified_disjoint_and_deterministic(tmp_path):
    tree = make_fake_dfew(str(tmp_path), num_per_class=10, num_frames=1,
                          size=8, test_per_class=0)

    def ids(part, seed=0):
        ds = DFEWDataset(ann_file=tree['train_ann'], fold=1, label_base=0,
                         data_prefix=dict(video=tree['frame_root']),
                         pipeline=[], val_split=dict(ratio=0.2, seed=seed,
                                                     part=part))
        return [ds.get_data_info(i)['sample_id'] for i in range(len(ds))], \
            [ds.get_cat_ids(i)[0] for i in range(len(ds))]

    tr, tr_lab = ids('train')
    va, va_lab = ids('val')
    assert not set(tr) & set(va)
    assert sorted(tr + va) == sorted(tree['train_names'])
    assert np.bincount(va_lab).tolist() == [2] * 7
    assert ids('val') == (va, va_lab)
    assert ids('val', seed=1)[0] != va


def _ann(tmp_path, text, name='train_set_1.csv'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('text,match', [
    ('video_name,label\n00001,1\n00002\n', r'line 3: expected 2 '
     r'comma-separated fields, got 1'),
    ('video_name,label\n00001,1\n00002,happy\n', r"line 3: label 'happy' is "
     r'not an integer'),
    ('video_name,label\n00001,1\n00001,2\n', r"line 3: duplicate sample id "
     r"'00001' \(first seen on line 2\)"),
    ('video_name,label\n00001,8\n', r'line 2: label 8 is outside \[1, 7\]'),
])
def test_malformed_annotations(tmp_path, text, match):
    ann = _ann(tmp_path, text)
    with pytest.raises(AnnotationError, match=match):
        DFEWDataset(ann_file=ann, label_base=1, pipeline=[],
                    data_prefix=dict(video=str(tmp_path)))


@pytest.fixture
def broken_dfew(tmp_path):
    """6 clips: ok, missing folder, empty folder, unreadable frame, ok."""
    tree = make_fake_dfew(str(tmp_path), num_per_class=1, num_frames=4,
                          size=16, test_per_class=0)
    names = tree['train_names']
    root = tree['frame_root']
    import shutil
    shutil.rmtree(osp.join(root, names[1]))
    for f in os.listdir(osp.join(root, names[2])):
        os.remove(osp.join(root, names[2], f))
    with open(osp.join(root, names[3], '00002.jpg'), 'wb') as f:
        f.write(b'not a jpeg at all')
    return tree


def _broken(tree, **kwargs):
    pipe = [
        dict(type='SampleFrames', clip_len=4, num_clips=1, test_mode=True,
             out_of_bound_opt='repeat_last'),
        dict(type='RawFrameDecode'),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    return DFEWDataset(ann_file=tree['train_ann'], fold=1, label_base=0,
                       data_prefix=dict(video=tree['frame_root']),
                       pipeline=pipe, **kwargs)


def test_bad_media_raise_names_sample(broken_dfew):
    names = broken_dfew['train_names']
    ds = _broken(broken_dfew)
    assert ds[0]['inputs'].shape == (1, 3, 4, 16, 16)
    with pytest.raises(BadSampleError,
                       match=rf'sample 1 \(id {names[1]}, train_set_1.csv '
                       rf'line 3\): frame folder .*{names[1]} does not exist'):
        ds[1]
    with pytest.raises(BadSampleError, match=r'holds no frame'):
        ds[2]
    with pytest.raises(BadSampleError,
                       match=rf'{names[3]}/00002\.jpg (could not be decoded|'
                       r'is not a readable image)'):
        ds[3]


def test_bad_media_skip_counts(broken_dfew):
    ds = _broken(broken_dfew, on_bad_sample='skip')
    for idx in range(1, 4):
        out = ds[idx]  # another, good sample is returned
        assert out['inputs'].shape == (1, 3, 4, 16, 16)
    assert ds.num_skipped >= 3
    bad_ids = {i for i, _ in ds.bad_sample_handler.skipped}
    assert bad_ids <= {1, 2, 3} and bad_ids == {1, 2, 3}


def test_skip_refused_in_test_mode(broken_dfew):
    with pytest.raises(ValueError, match='refused in test mode'):
        _broken(broken_dfew, on_bad_sample='skip', test_mode=True)


def test_corrupt_video(tmp_path):
    tree = make_fake_mafw(str(tmp_path), form='csv', num_per_class=1,
                          test_per_class=0, num_frames=4, with_videos=True)
    bad = osp.join(tree['video_root'], tree['train_names'][0] + '.mp4')
    with open(bad, 'wb') as f:
        f.write(b'\x00' * 64)
    pipe = [dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, num_clips=1,
                 test_mode=True),
            dict(type='DecordDecode')]
    ds = MAFWDataset(ann_file=tree['train_ann'], fold=1, media='video',
                     data_prefix=dict(video=tree['video_root']),
                     pipeline=pipe)
    with pytest.raises(BadSampleError, match=r'sample 0 .*DecordInit failed'):
        ds[0]
    skip = MAFWDataset(ann_file=tree['train_ann'], fold=1, media='video',
                       data_prefix=dict(video=tree['video_root']),
                       pipeline=pipe, on_bad_sample='skip')
    assert len(skip[0]['imgs']) == 4
    # the replacement is drawn at random and may hit the bad clip again:
    # only sample 0 may have been skipped, at least once
    assert skip.num_skipped >= 1
    assert {i for i, _ in skip.bad_sample_handler.skipped} == {0}


def test_frame_names_with_gaps(tmp_path):
    """Frames dropped by a face detector leave gaps: still read in order."""
    from s2d_testing.fake_data import make_frame_folder

    from s2d_mm.datasets.utils import FrameNameList, scan_frame_dir
    d = str(tmp_path / 'clip')
    make_frame_folder(d, 5, 0, 8, name_tmpl='img_{:d}.jpg')
    assert scan_frame_dir(d) == (5, 'img_{:d}.jpg', 1)
    os.remove(osp.join(d, 'img_3.jpg'))
    total, tmpl, start = scan_frame_dir(d)
    assert isinstance(tmpl, FrameNameList) and total == 4 and start == 0
    assert [tmpl.format(i) for i in range(4)] == [
        'img_1.jpg', 'img_2.jpg', 'img_4.jpg', 'img_5.jpg']


@pytest.mark.parametrize('name', ['dfew', 'dfew_heldout', 'mafw_heldout',
                                  'ferv39k'])
def test_base_configs_build_dataloaders(tmp_path, name):
    """The dataset base configs (and the held-out experiment configs) build
    train/val/test loaders on trees in the official layouts (only data_root
    and image size changed)."""
    from mmengine.runner import Runner
    ds_name = name.split('_')[0]
    make = dict(dfew=make_fake_dfew, mafw=make_fake_mafw,
                ferv39k=make_fake_ferv39k)[ds_name]
    kwargs = dict(num_per_class=2, num_frames=4, size=SIZE)
    if ds_name == 'dfew':
        kwargs['label_base'] = 1  # the config declares DFEW's own 1-based
    tree = make(str(tmp_path), **kwargs)
    # the held-out variants live in the experiment configs
    path = f'configs/s2d_{name}.py' if 'heldout' in name else \
        f'configs/_base_/datasets/{name}.py'
    cfg = Config.fromfile(osp.join(REPO, path))
    frames = osp.relpath(tree['frame_root'], str(tmp_path))
    loaders = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is None:
            assert key == 'val_dataloader' and 'heldout' not in name
            continue
        loader = copy.deepcopy(loader)
        loader.update(num_workers=0, persistent_workers=False, batch_size=2)
        loader.dataset.data_root = str(tmp_path)
        loader.dataset.data_prefix = dict(video=frames)
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (SIZE, SIZE)
            if t['type'] == 'SpatialCrops':
                t['crop_size'] = SIZE
        loaders[key] = Runner.build_dataloader(loader, seed=0)
    views = dict(train_dataloader=1, val_dataloader=1, test_dataloader=4)
    for key, loader in loaders.items():
        batch = next(iter(loader))
        assert tuple(batch['inputs'][0].shape) == (views[key], 3, 16, SIZE,
                                                   SIZE)
    if 'heldout' in name:
        def ids(key):
            ds = loaders[key].dataset
            return {ds.get_data_info(i)['sample_id'] for i in range(len(ds))}

        train_ids, val_ids = ids('train_dataloader'), ids('val_dataloader')
        assert val_ids and not train_ids & val_ids
        assert loaders['val_dataloader'].dataset.ann_file == \
            loaders['train_dataloader'].dataset.ann_file
        assert cfg.val_evaluator.type == 'UARWARMetric'


def test_skip_count_shared_with_fork_workers(broken_dfew):
    """The skip total read in the main process includes the workers'."""
    import torch
    from mmengine.dataset import pseudo_collate
    ds = _broken(broken_dfew, on_bad_sample='skip')
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
        multiprocessing_context='fork', sampler=list(range(len(ds))))
    n = sum(len(b['inputs']) for b in loader)
    assert n == len(ds)
    # samples 1, 2, 3 at least once (a refetch may draw a bad one again),
    # all of it counted in the workers, none in this process
    assert ds.num_skipped >= 3
    assert ds.bad_sample_handler.skipped == []
    import copy
    clone = copy.deepcopy(ds)  # copies drop the shared counter cleanly
    assert clone.num_skipped == 0


def test_empty_frame_file(tmp_path):
    tree = make_fake_dfew(str(tmp_path), num_per_class=1, num_frames=3,
                          size=16, test_per_class=0)
    frame = osp.join(tree['frame_root'], tree['train_names'][0], '00002.jpg')
    open(frame, 'wb').close()
    ds = _broken(tree)
    with pytest.raises(BadSampleError, match=r'00002\.jpg is empty'):
        ds[0]


def test_one_natural_order_for_datasets_and_inference(tmp_path):
    """Datasets, the video readers and tools/infer.py order a folder alike:
    numbers by value, case ignored."""
    from s2d_mm.apis.video_reader import list_frames
    from s2d_mm.datasets.utils import natural_key
    names = ['Img_10.jpg', 'img_2.jpg', 'IMG_1.jpg', 'img_003.jpg']
    for n in names:
        open(osp.join(str(tmp_path), n), 'wb').close()
    want = ['IMG_1.jpg', 'img_2.jpg', 'img_003.jpg', 'Img_10.jpg']
    assert sorted(names, key=natural_key) == want
    assert [osp.basename(p) for p in list_frames(str(tmp_path))] == want
