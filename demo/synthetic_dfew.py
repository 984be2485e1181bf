"""Generate a small synthetic dynamic-expression dataset in DFEW's layout.

Layout written under ``root`` (the same files DFEW's loaders read)::

    root/
        00001/00001.jpg ... 000T.jpg     # one face-cropped frame folder a clip
        ...
        train_set_1.csv                  # video_name,label
        test_set_1.csv
        landmarks/00001.npz              # per clip: landmarks (T, 68, 2), ...
        landmarks/train.json             # 300-W style COCO keypoint files
        landmarks/test.json              #   (mmpose ``Face300WDataset``)
        static/{train,test}/000001.jpg   # still photos of other people at
                                         #   the apex of an expression
        static_train.txt                 # for the image stage (SFER):
        static_test.txt                  #   'static/train/000001.jpg label'
        meta.json                        # classes, label base, seed, ...

Clip names are zero-padded ids like DFEW's. Labels follow DFEW's class order;
``label_base=1`` writes them as the official DFEW files do (1..7),
``label_base=0`` as the S2D release's copies (0..6).

Everything is drawn from ``numpy.random.default_rng([seed, clip_index])``,
so a clip does not depend on how many clips are generated before it and the
same seed gives byte-identical files.
"""
import csv
import json
import os
import os.path as osp
from dataclasses import asdict

import cv2
import numpy as np

from .expressions import DFEW_CLASSES, EXPRESSIONS, MOTION_ONLY_CLASSES, actions_per_frame
from .face_model import (
    NUM_LANDMARKS,
    FaceIdentity,
    Placement,
    apply_actions,
    place_landmarks,
    render_face,
)

GENERATOR_VERSION = 2


def render_clip(class_name, rng, num_frames=16, img_size=(112, 112),
                face_scale=(0.5, 0.66), center_jitter=0.06,
                face_center=None, expressions=None):
    """Render one clip of a synthetic face showing ``class_name``.

    Args:
        class_name (str): one of :data:`DFEW_CLASSES`.
        rng (np.random.Generator): the only source of randomness.
        num_frames (int): T.
        img_size (tuple): ``(H, W)``.
        face_scale (tuple): range of the face size (its width is about one
            canonical unit) as a fraction of the image's shorter side.
        center_jitter (float): range of the face centre's offset from the
            image centre, as a fraction of the image size.
        face_center (tuple, optional): ``(cx, cy)`` in pixels instead of the
            jittered image centre (used to place a face in a larger scene).
        expressions (dict, optional): class -> (actions, dynamics) in place
            of :data:`~demo.expressions.EXPRESSIONS` (a data variant).

    Returns:
        dict: ``frames`` list of T BGR uint8 images ``(H, W, 3)``,
        ``landmarks`` ``(T, 68, 2)`` float32 pixel coordinates,
        ``intensity`` ``(T,)`` expression intensity.
    """
    h, w = img_size
    ident = FaceIdentity.sample(rng)
    neutral = ident.neutral_landmarks()
    acts, curve = actions_per_frame(class_name, num_frames, rng,
                                    expressions)

    # head motion: a slow drift plus jitter, per clip
    scale0 = rng.uniform(*face_scale) * min(h, w)
    if face_center is None:
        cx0 = w / 2 + rng.uniform(-center_jitter, center_jitter) * w
        # the canonical origin sits a little below the middle of the head
        cy0 = (h / 2 - 0.07 * scale0 +
               rng.uniform(-center_jitter, center_jitter) * h)
    else:
        cx0, cy0 = face_center
    drift = rng.normal(0, 0.012, 2) * np.array([w, h])
    d_roll = rng.normal(0, 0.04)
    d_yaw = rng.normal(0, 0.12)
    d_scale = rng.normal(0, 0.04)
    roll0 = rng.normal(0, 0.06)
    yaw0 = rng.normal(0, 0.12)
    light_dir = rng.uniform(0, 2 * np.pi)
    light_strength = rng.uniform(0.0, 0.7)
    gain = rng.uniform(0.75, 1.2)
    noise = rng.uniform(1.0, 6.0)

    frames, lms_all = [], []
    for i in range(num_frames):
        s = i / max(1, num_frames - 1)
        jitter = rng.normal(0, 0.004, 2) * np.array([w, h])
        placement = Placement(
            cx=cx0 + s * drift[0] + jitter[0],
            cy=cy0 + s * drift[1] + jitter[1],
            scale=scale0 * (1 + s * d_scale),
            roll=roll0 + s * d_roll,
            yaw=float(np.clip(yaw0 + s * d_yaw, -0.4, 0.4)),
            light_dir=light_dir,
            light_strength=light_strength,
            gain=gain * (1 + rng.normal(0, 0.015)),
            noise=noise)
        lms = place_landmarks(apply_actions(neutral, acts[i]), placement)
        frames.append(render_face((h, w), ident, lms, placement, rng))
        lms_all.append(lms)
    return dict(frames=frames,
                landmarks=np.asarray(lms_all, np.float32),
                intensity=np.asarray(curve, np.float32))


def _coco_entry(image_id, file_name, lms, img_size):
    """One 300-W style COCO image + annotation for a frame.

    The box is the whole frame: the landmark network sees whole face crops,
    as S2D's landmark branch does.
    """
    h, w = img_size
    kpts = np.concatenate([lms, np.full((len(lms), 1), 2.0)], 1)
    image = dict(id=image_id, file_name=file_name, height=h, width=w)
    ann = dict(id=image_id, image_id=image_id, category_id=1, iscrowd=0,
               num_keypoints=NUM_LANDMARKS,
               keypoints=[round(float(v), 3) for v in kpts.reshape(-1)],
               bbox=[0.0, 0.0, float(w), float(h)], area=float(w * h),
               center=[w / 2.0, h / 2.0], scale=max(w, h) / 200.0)
    return image, ann


def generate_dataset(root, clips_per_class=40, num_frames=16, img_size=112,
                     seed=0, test_fraction=0.25, label_base=1,
                     landmark_stride=2, stills_per_class=150,
                     jpeg_quality=92, progress=True, expressions=None):
    """Write the synthetic dataset under ``root`` (see module docstring).

    Args:
        root (str): output folder (created; existing generated files are
            overwritten).
        clips_per_class (int): clips of each of the 7 classes.
        num_frames (int): frames a clip.
        img_size (int): frame side in pixels (square face crops).
        seed (int): generator seed.
        test_fraction (float): share of each class put in the test split.
        label_base (int): 1 writes labels 1..7 (official DFEW files),
            0 writes 0..6 (S2D release copies).
        landmark_stride (int): every how many frames a frame enters the COCO
            landmark annotation files (per-clip ``.npz`` files hold all).
        stills_per_class (int): still images per class for the image stage
            (like a static FER dataset: each of a new person at the apex of
            the expression), listed in ``static_train.txt`` with 0-based
            labels (mmpretrain's ``CustomDataset``); a quarter as many more
            go to ``static_test.txt``.
        jpeg_quality (int): JPEG quality of the frames.
        progress (bool): show an mmengine progress bar.
        expressions (dict, optional): class -> (actions, dynamics) in place
            of :data:`~demo.expressions.EXPRESSIONS`, for clips and stills
            (a data variant; ``meta.json`` records what was used).

    Returns:
        dict: the content of ``meta.json``.
    """
    if label_base not in (0, 1):
        raise ValueError(f'label_base must be 0 or 1, got {label_base}')
    if clips_per_class < 2:
        raise ValueError('clips_per_class must be >= 2 (train and test)')
    size = (img_size, img_size)
    os.makedirs(osp.join(root, 'landmarks'), exist_ok=True)
    n_test = max(1, int(round(clips_per_class * test_fraction)))

    # Clip ids: shuffled over classes so that names do not give labels away.
    total = clips_per_class * len(DFEW_CLASSES)
    order = np.random.default_rng([seed, 1 << 30]).permutation(total)
    jobs = []
    for k in range(total):
        label = int(order[k] % len(DFEW_CLASSES))
        rank = int(order[k] // len(DFEW_CLASSES))
        split = 'test' if rank < n_test else 'train'
        jobs.append((k, f'{k + 1:05d}', label, split))

    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)
    rows = dict(train=[], test=[])
    coco = {s: dict(images=[], annotations=[]) for s in ('train', 'test')}
    params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
    for k, name, label, split in jobs:
        rng = np.random.default_rng([seed, k])
        clip = render_clip(DFEW_CLASSES[label], rng, num_frames, size,
                           expressions=expressions)
        clip_dir = osp.join(root, name)
        os.makedirs(clip_dir, exist_ok=True)
        for i, frame in enumerate(clip['frames']):
            cv2.imwrite(osp.join(clip_dir, f'{i + 1:05d}.jpg'), frame, params)
            if i % landmark_stride == 0:
                image_id = k * num_frames + i + 1
                img, ann = _coco_entry(image_id, f'{name}/{i + 1:05d}.jpg',
                                       clip['landmarks'][i], size)
                coco[split]['images'].append(img)
                coco[split]['annotations'].append(ann)
        np.savez(osp.join(root, 'landmarks', f'{name}.npz'),
                 landmarks=clip['landmarks'], intensity=clip['intensity'],
                 label=np.int64(label))
        rows[split].append((name, label + label_base))
        if bar is not None:
            bar.update()
    if bar is not None:
        print()

    n_stills = dict(train=stills_per_class,
                    test=max(1, stills_per_class // 4))
    if stills_per_class > 0:
        _write_stills(root, n_stills, size, seed, params, expressions)

    for split in ('train', 'test'):
        with open(osp.join(root, f'{split}_set_1.csv'), 'w',
                  newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['video_name', 'label'])
            writer.writerows(rows[split])
        data = dict(coco[split],
                    categories=[dict(id=1, name='face',
                                     supercategory='face')])
        with open(osp.join(root, 'landmarks', f'{split}.json'), 'w') as f:
            json.dump(data, f)

    meta = dict(
        description=('SYNTHETIC procedurally rendered faces (not real '
                     'people), made by demo for the demo and tests'),
        generator_version=GENERATOR_VERSION,
        seed=seed,
        classes=list(DFEW_CLASSES),
        label_base=label_base,
        motion_only_classes=list(MOTION_ONLY_CLASSES),
        expressions={c: dict(actions=a, dynamics=d)
                     for c, (a, d) in (expressions or EXPRESSIONS).items()},
        clips_per_class=clips_per_class,
        num_train=len(rows['train']),
        num_test=len(rows['test']),
        num_frames=num_frames,
        img_size=img_size,
        landmark_layout='300W-68',
        landmark_stride=landmark_stride,
        num_stills=dict(train=7 * n_stills['train'],
                        test=7 * n_stills['test']) if stills_per_class else 0,
        face_identity_fields=list(asdict(FaceIdentity()).keys()))
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
    return meta


def render_still(class_name, rng, img_size=(112, 112), expressions=None):
    """One photo of a new person at the apex of ``class_name`` (for the
    image stage). Surprise and Fear stills come from the same distribution,
    as their clips differ only by motion.

    Returns:
        tuple: the BGR image ``(H, W, 3)`` and its landmarks ``(68, 2)``.
    """
    config, _ = (EXPRESSIONS if expressions is None else
                 expressions)[class_name]
    ident = FaceIdentity.sample(rng)
    h, w = img_size
    level = rng.uniform(0.6, 1.0)
    acts = {k: v * level for k, v in config.items()}
    if rng.random() < 0.1:
        acts['blink'] = 1.0 - acts.get('eye_widen', 0.0)
    acts['jaw_drop'] = min(1.0, acts.get('jaw_drop', 0.0) +
                           rng.uniform(0, 0.25) * (rng.random() < 0.3))
    scale = rng.uniform(0.5, 0.66) * min(h, w)
    placement = Placement(
        cx=w / 2 + rng.uniform(-0.06, 0.06) * w,
        cy=h / 2 - 0.07 * scale + rng.uniform(-0.06, 0.06) * h,
        scale=scale, roll=rng.normal(0, 0.06),
        yaw=float(np.clip(rng.normal(0, 0.15), -0.4, 0.4)),
        light_dir=rng.uniform(0, 2 * np.pi),
        light_strength=rng.uniform(0.0, 0.7), gain=rng.uniform(0.75, 1.2),
        noise=rng.uniform(1.0, 6.0))
    lms = place_landmarks(apply_actions(ident.neutral_landmarks(), acts),
                          placement)
    return render_face((h, w), ident, lms, placement, rng), lms


def _write_stills(root, n_stills, size, seed, params, expressions=None):
    """``static/{split}/*.jpg`` and ``static_{split}.txt``."""
    for s_idx, split in enumerate(('train', 'test')):
        folder = osp.join(root, 'static', split)
        os.makedirs(folder, exist_ok=True)
        lines = []
        for k in range(n_stills[split] * len(DFEW_CLASSES)):
            label = k % len(DFEW_CLASSES)
            rng = np.random.default_rng([seed, 2 << 30, s_idx, k])
            img, _ = render_still(DFEW_CLASSES[label], rng, size, expressions)
            name = f'{k + 1:06d}.jpg'
            cv2.imwrite(osp.join(folder, name), img, params)
            lines.append(f'static/{split}/{name} {label}')
        with open(osp.join(root, f'static_{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')


def render_scene_clip(class_name, seed, num_frames=16, img_size=(240, 320),
                      face_scale=(0.42, 0.5)):
    """A clip whose face is not cropped: a small face in a larger frame.

    Used to exercise face detection in inference on one's own video.

    Returns:
        dict: as :func:`render_clip`.
    """
    rng = np.random.default_rng([seed, 7 << 20])
    h, w = img_size
    center = (w * rng.uniform(0.35, 0.65), h * rng.uniform(0.45, 0.55))
    return render_clip(class_name, rng, num_frames, img_size, face_scale,
                       face_center=center)
