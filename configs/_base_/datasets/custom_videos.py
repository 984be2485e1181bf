# One's own labelled videos after tools/data/extract_faces.py (224-px face
# clips in frames/<clip>/) and tools/data/make_folds.py (folds by subject in
# folds/train_{fold}.csv, folds/test_{fold}.csv): `path,label,subject`,
# labels as class names (or integers: set label_base). The class list is the
# experiment config's (`classes`, configs/s2d_custom.py), passed to both
# datasets. Like the paper's protocol: train on the fold's training split,
# report the last epoch on its test split (no validation loop); switch folds
# with `--cfg-options fold=k`.
_base_ = ['./s2d_video_pipelines.py']

dataset_type = 'LabelledVideoDataset'
data_root = 'data/my_faces'  # OUT_DIR of extract_faces.py
frames = 'frames'
fold = 1
ann_file_train = 'folds/train_{fold}.csv'
ann_file_test = 'folds/test_{fold}.csv'
label_base = None  # integer labels only: 0 or 1
classes = None  # set by the experiment config

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_train,
        fold=fold,
        classes=classes,
        label_base=label_base,
        data_prefix=dict(video=frames),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_test,
        fold=fold,
        classes=classes,
        label_base=label_base,
        data_prefix=dict(video=frames),
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
