"""Tiny fake datasets in the official layouts, for tests and demos.

Every generator writes under ``root`` and returns a dict with the paths a
dataset config needs (annotation files, media roots) plus ``labels``
(0-based, in file order) so that tests can check what was read.

Pixel content encodes the sample so that tests can follow it through a
pipeline: frame ``t`` of a clip is filled with value ``(10 * t) % 250 + 5``
in channel 0 and ``20 * label + 5`` in channel 1 (images: channel 0 holds
``20 * label + 5``).
"""
import csv
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np

# Class orders as the datasets distribute them, written here independently
# of the dataset classes' METAINFO so that tests cross-check the two.
DFEW_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust',
                'Fear')
FERV39K_CLASSES = ('Angry', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad',
                   'Surprise')
MAFW_CLASSES = ('Anger', 'Anxiety', 'Contempt', 'Disappointment', 'Disgust',
                'Fear', 'Happiness', 'Helplessness', 'Neutral', 'Sadness',
                'Surprise')
RAFDB_CLASSES = ('Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness',
                 'Anger', 'Neutral')
AFFECTNET_CLASSES = ('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust',
                     'Anger', 'Contempt')
FERPLUS_COLUMNS = ('neutral', 'happiness', 'surprise', 'sadness', 'anger',
                   'disgust', 'fear', 'contempt', 'unknown', 'NF')

__all__ = [
    'make_frame', 'make_frame_folder', 'make_fake_video', 'make_fake_dfew',
    'make_fake_ferv39k', 'make_fake_mafw', 'make_fake_rafdb',
    'make_fake_affectnet', 'make_fake_ferplus'
]


def make_frame(t: int, label: int, size: int = 32) -> np.ndarray:
    """An RGB frame ``(size, size, 3)`` uint8 encoding frame index and label;
    channel 2 has a horizontal ramp so that flips are visible."""
    img = np.zeros((size, size, 3), np.uint8)
    img[..., 0] = (10 * t) % 250 + 5
    img[..., 1] = 20 * label + 5
    img[..., 2] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
    return img


def _write_image(path: str, rgb: np.ndarray) -> None:
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok = cv2.imwrite(path, rgb[..., ::-1])
    if not ok:
        raise RuntimeError(f'could not write {path}')


def make_frame_folder(frame_dir: str, num_frames: int, label: int,
                      size: int = 32, name_tmpl: str = '{:05d}.jpg',
                      first: int = 1) -> None:
    """Write ``num_frames`` frames named ``name_tmpl.format(first + t)``."""
    os.makedirs(frame_dir, exist_ok=True)
    for t in range(num_frames):
        _write_image(osp.join(frame_dir, name_tmpl.format(first + t)),
                     make_frame(t, label, size))


def make_fake_video(path: str, num_frames: int, label: int,
                    size: int = 32, fps: int = 10) -> None:
    """Write an mp4 (mp4v) clip readable by decord."""
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (size, size))
    if not writer.isOpened():
        raise RuntimeError(f'cv2 cannot write {path}')
    for t in range(num_frames):
        writer.write(make_frame(t, label, size)[..., ::-1].copy())
    writer.release()


def _frames_of(num_frames: Union[int, Sequence[int]], k: int) -> int:
    if isinstance(num_frames, int):
        return num_frames
    return num_frames[k % len(num_frames)]


def _balanced_labels(num_classes: int, num_per_class: int):
    return [c for _ in range(num_per_class) for c in range(num_classes)]


def make_fake_dfew(root: str,
                   num_per_class: int = 2,
                   num_frames: Union[int, Sequence[int]] = 6,
                   size: int = 32,
                   label_base: int = 0,
                   folds: Sequence[int] = (1, ),
                   test_per_class: int = 1,
                   with_videos: bool = False) -> Dict:
    """DFEW layout::

        root/EmoLabel_DataSplit/train(single-labeled)/train_set_{k}.csv
        root/EmoLabel_DataSplit/test(single-labeled)/test_set_{k}.csv
        root/Clip/clip_224x224_16f/00001/00001.jpg ...
        root/Clip/original/00001.mp4              (with_videos)

    Returns dict(train_ann=<template with {fold}>, test_ann=...,
    frame_root, video_root, train_labels, test_labels) where the label lists
    are 0-based and in file order (the same for every fold).
    """
    c = len(DFEW_CLASSES)
    train_labels = _balanced_labels(c, num_per_class)
    test_labels = _balanced_labels(c, test_per_class)
    frame_root = osp.join(root, 'Clip', 'clip_224x224_16f')
    video_root = osp.join(root, 'Clip', 'original')
    split_dir = osp.join(root, 'EmoLabel_DataSplit')
    clip_id = 0
    names = {}
    for split, labels in (('train', train_labels), ('test', test_labels)):
        names[split] = []
        for k, lab in enumerate(labels):
            clip_id += 1
            name = f'{clip_id:05d}'
            names[split].append(name)
            n = _frames_of(num_frames, clip_id - 1)
            make_frame_folder(osp.join(frame_root, name), n, lab, size)
            if with_videos:
                make_fake_video(osp.join(video_root, name + '.mp4'), n, lab,
                                size)
    for fold in folds:
        for split, labels in (('train', train_labels), ('test', test_labels)):
            d = osp.join(split_dir, f'{split}(single-labeled)')
            os.makedirs(d, exist_ok=True)
            with open(osp.join(d, f'{split}_set_{fold}.csv'), 'w',
                      newline='') as f:
                w = csv.writer(f, lineterminator='\n')
                w.writerow(['video_name', 'label'])
                for name, lab in zip(names[split], labels):
                    w.writerow([name, lab + label_base])
    return dict(
        train_ann=osp.join(split_dir, 'train(single-labeled)',
                           'train_set_{fold}.csv'),
        test_ann=osp.join(split_dir, 'test(single-labeled)',
                          'test_set_{fold}.csv'),
        frame_root=frame_root,
        video_root=video_root,
        train_labels=train_labels,
        test_labels=test_labels,
        train_names=names['train'],
        test_names=names['test'])


def make_fake_ferv39k(root: str,
                      num_per_class: int = 2,
                      num_frames: Union[int, Sequence[int]] = 6,
                      size: int = 32,
                      test_per_class: int = 1,
                      scenes: Sequence[str] = ('Crime', 'Interview')) -> Dict:
    """FERV39k layout::

        root/Annotation/{train,test}.csv        (path,id; 0-based)
        root/Annotation/label_index.txt
        root/2_ClipsforFaceCrop/<Scene>/<Class>/<NNNN>/0001.jpg ...
    """
    frame_root = osp.join(root, '2_ClipsforFaceCrop')
    ann_dir = osp.join(root, 'Annotation')
    os.makedirs(ann_dir, exist_ok=True)
    with open(osp.join(ann_dir, 'label_index.txt'), 'w') as f:
        for i, cls in enumerate(FERV39K_CLASSES):
            f.write(f'{i} {cls}\n')
    out = dict(frame_root=frame_root)
    counter = 0
    for split, per in (('train', num_per_class), ('test', test_per_class)):
        labels = _balanced_labels(len(FERV39K_CLASSES), per)
        paths = []
        for k, lab in enumerate(labels):
            counter += 1
            path = (f'{scenes[k % len(scenes)]}/{FERV39K_CLASSES[lab]}/'
                    f'{counter:04d}')
            paths.append(path)
            make_frame_folder(
                osp.join(frame_root, path), _frames_of(num_frames, counter - 1),
                lab, size, name_tmpl='{:04d}.jpg')
        with open(osp.join(ann_dir, f'{split}.csv'), 'w', newline='') as f:
            w = csv.writer(f, lineterminator='\n')
            w.writerow(['path', 'id'])
            for p, lab in zip(paths, labels):
                w.writerow([p, lab])
        out[f'{split}_ann'] = osp.join(ann_dir, f'{split}.csv')
        out[f'{split}_labels'] = labels
        out[f'{split}_paths'] = paths
    return out


def make_fake_mafw(root: str,
                   form: str = 'txt',
                   num_per_class: int = 2,
                   num_frames: Union[int, Sequence[int]] = 6,
                   size: int = 32,
                   folds: Sequence[int] = (1, ),
                   test_per_class: int = 1,
                   with_videos: bool = False) -> Dict:
    """MAFW layout::

        root/anno/single/no_caption/set_{k}/{train,test}.txt  ('03747.mp4 anger', CRLF)
        root/anno/single/no_caption/set_{k}/{train,test}.csv  (video_name,labels; 0-based)
        root/data/frames/frames_crop_align_224/00001/00001.png ...
        root/data/clips/00001.mp4                              (with_videos)

    ``form`` ('txt', 'csv' or 'both') chooses which annotation files are
    written; ``train_ann``/``test_ann`` point at the ``form`` one ('txt'
    when both).
    """
    if form not in ('txt', 'csv', 'both'):
        raise ValueError(form)
    c = len(MAFW_CLASSES)
    frame_root = osp.join(root, 'data', 'frames', 'frames_crop_align_224')
    video_root = osp.join(root, 'data', 'clips')
    names, labels_of = {}, {}
    clip_id = 0
    for split, per in (('train', num_per_class), ('test', test_per_class)):
        labels_of[split] = _balanced_labels(c, per)
        names[split] = []
        for lab in labels_of[split]:
            clip_id += 1
            name = f'{clip_id:05d}'
            names[split].append(name)
            n = _frames_of(num_frames, clip_id - 1)
            make_frame_folder(osp.join(frame_root, name), n, lab, size,
                              name_tmpl='{:05d}.png')
            if with_videos:
                make_fake_video(osp.join(video_root, name + '.mp4'), n, lab,
                                size)
    ann_root = osp.join(root, 'anno', 'single', 'no_caption')
    for fold in folds:
        d = osp.join(ann_root, f'set_{fold}')
        os.makedirs(d, exist_ok=True)
        for split in ('train', 'test'):
            if form in ('txt', 'both'):
                with open(osp.join(d, f'{split}.txt'), 'w', newline='') as f:
                    for name, lab in zip(names[split], labels_of[split]):
                        f.write(f'{name}.mp4 {MAFW_CLASSES[lab].lower()}\r\n')
            if form in ('csv', 'both'):
                with open(osp.join(d, f'{split}.csv'), 'w', newline='') as f:
                    w = csv.writer(f, lineterminator='\n')
                    w.writerow(['video_name', 'labels'])
                    for name, lab in zip(names[split], labels_of[split]):
                        w.writerow([name, lab])
    ext = 'csv' if form == 'csv' else 'txt'
    return dict(
        train_ann=osp.join(ann_root, 'set_{fold}', f'train.{ext}'),
        test_ann=osp.join(ann_root, 'set_{fold}', f'test.{ext}'),
        frame_root=frame_root,
        video_root=video_root,
        train_labels=labels_of['train'],
        test_labels=labels_of['test'],
        train_names=names['train'],
        test_names=names['test'])


def _image(label: int, size: int, k: int = 0) -> np.ndarray:
    img = make_frame(k, label, size)
    img[..., 0], img[..., 1] = img[..., 1].copy(), img[..., 0].copy()
    return img


def make_fake_rafdb(root: str,
                    num_per_class: int = 2,
                    test_per_class: int = 1,
                    size: int = 32) -> Dict:
    """RAF-DB basic layout::

        root/EmoLabel/list_patition_label.txt   ('train_00001.jpg 5', 1-based)
        root/Image/aligned/train_00001_aligned.jpg
    """
    lines = []
    out = dict(ann_file=osp.join(root, 'EmoLabel',
                                 'list_patition_label.txt'),
               img_root=osp.join(root, 'Image', 'aligned'))
    for split, per, width in (('train', num_per_class, 5),
                              ('test', test_per_class, 4)):
        labels = _balanced_labels(len(RAFDB_CLASSES), per)
        for k, lab in enumerate(labels):
            name = f'{split}_{k + 1:0{width}d}'
            lines.append(f'{name}.jpg {lab + 1}')
            _write_image(
                osp.join(out['img_root'], f'{name}_aligned.jpg'),
                _image(lab, size, k))
        out[f'{split}_labels'] = labels
    os.makedirs(osp.dirname(out['ann_file']), exist_ok=True)
    with open(out['ann_file'], 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return out


def make_fake_affectnet(root: str,
                        num_per_class: int = 2,
                        test_per_class: int = 1,
                        size: int = 32,
                        extra_codes: Sequence[int] = (8, 9, 10),
                        val_header: bool = False) -> Dict:
    """AffectNet layout::

        root/Manually_Annotated_file_lists/{training,validation}.csv
        root/Manually_Annotated_Images/<dir>/<hash>.jpg

    Each split has ``num_per_class`` images of every expression 0-7 plus one
    row per code in ``extra_codes`` (None/Uncertain/No-face, to be dropped).
    As distributed, ``validation.csv`` has no header unless ``val_header``.
    Returns the expression codes per split in file order.
    """
    header = ['subDirectory_filePath', 'face_x', 'face_y', 'face_width',
              'face_height', 'facial_landmarks', 'expression', 'valence',
              'arousal']
    img_root = osp.join(root, 'Manually_Annotated_Images')
    ann_dir = osp.join(root, 'Manually_Annotated_file_lists')
    os.makedirs(ann_dir, exist_ok=True)
    out = dict(img_root=img_root)
    n = 0
    for split, fname, per in (('train', 'training.csv', num_per_class),
                              ('val', 'validation.csv', test_per_class)):
        codes = _balanced_labels(8, per) + list(extra_codes)
        rows = []
        for code in codes:
            n += 1
            rel = f'{n % 3 + 1}/{n:08x}.jpg'
            _write_image(osp.join(img_root, rel), _image(min(code, 7), size))
            lms = ';'.join(f'{v:.2f}' for v in np.linspace(1, size - 1, 136))
            rows.append([rel, 2, 3, size - 4, size - 5, lms, code, 0.1, -0.2])
        with open(osp.join(ann_dir, fname), 'w', newline='') as f:
            w = csv.writer(f, lineterminator='\n')
            if split == 'train' or val_header:
                w.writerow(header)
            w.writerows(rows)
        out[f'{split}_ann'] = osp.join(ann_dir, fname)
        out[f'{split}_codes'] = codes
    return out


def make_fake_ferplus(root: str,
                      votes: Optional[Dict[str, Sequence[Sequence[int]]]] = None,
                      size: int = 48) -> Dict:
    """FERPlus layout::

        root/fer2013new.csv  (Usage,Image name,neutral,...,contempt,unknown,NF)
        root/FER2013Train/fer0000000.png   (Usage Training)
        root/FER2013Valid/...              (PublicTest)
        root/FER2013Test/...               (PrivateTest)

    ``votes`` maps a usage to a list of 10-vote rows; by default every split
    gets one clear-majority row per class plus an unknown-majority row, an
    NF-majority row and a tie. A row with an empty image name (an image
    FERPlus removed) is added to Training.
    """
    if votes is None:
        default = []
        for c in range(8):
            v = [0] * 10
            v[c] = 8
            v[(c + 1) % 8] = 2
            default.append(v)
        default.append([1, 0, 0, 0, 0, 0, 0, 0, 9, 0])   # unknown majority
        default.append([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])  # not a face
        default.append([5, 5, 0, 0, 0, 0, 0, 0, 0, 0])   # tie
        votes = dict(Training=default, PublicTest=default,
                     PrivateTest=default)
    folders = dict(Training='FER2013Train', PublicTest='FER2013Valid',
                   PrivateTest='FER2013Test')
    rows = []
    k = 0
    for usage in ('Training', 'PublicTest', 'PrivateTest'):
        for v in votes.get(usage, ()):
            name = f'fer{k:07d}.png'
            k += 1
            lab = int(np.argmax(v))
            gray = _image(min(lab, 7), size)[..., 0]
            _write_image(osp.join(root, folders[usage], name),
                         np.repeat(gray[..., None], 3, axis=2))
            rows.append([usage, name] + list(v))
        if usage == 'Training':
            rows.append([usage, ''] + [0] * 9 + [10])
    os.makedirs(root, exist_ok=True)
    ann = osp.join(root, 'fer2013new.csv')
    with open(ann, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['Usage', 'Image name'] + list(FERPLUS_COLUMNS))
        w.writerows(rows)
    return dict(ann_file=ann, img_root=root, votes=votes)
