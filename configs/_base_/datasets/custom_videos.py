# One's own labelled videos after tools/data/extract_faces.py (224-px face
# clips in frames/<clip>/) and tools/data/make_folds.py (folds by subject in
# folds/train_{fold}.csv, folds/test_{fold}.csv): `path,label,subject`,
# labels as class names (or integers: set label_base). The class list is the
# experiment config's (`classes`, configs/s2d_custom.py), passed to both
# datasets. Like the paper's protocol: train on the fold's training split,
# report the last epoch on its test split (no validation loop); switch folds
# with `--cfg-options fold=k`. Loaders and protocols: fer_video.py,
# fer_protocols.py.
_base_ = ['./fer_video.py']

dataset_type = 'LabelledVideoDataset'
data_root = 'data/my_faces'  # OUT_DIR of extract_faces.py
frames = 'frames'
fold = 1
ann_file_train = 'folds/train_{fold}.csv'
ann_file_test = 'folds/test_{fold}.csv'
label_base = None  # integer labels only: 0 or 1
classes = None  # set by the experiment config

fer_dataset = dict(type=dataset_type, data_root=data_root, fold=fold,
                   classes=classes, label_base=label_base,
                   data_prefix=dict(video=frames))
# 4 loader processes (the benchmark bases: 8)
train_dataloader = dict(
    num_workers=4, dataset=dict(fer_dataset, ann_file=ann_file_train))
test_dataloader = dict(
    num_workers=4, dataset=dict(fer_dataset, ann_file=ann_file_test))
heldout_val_dataloader = dict(
    num_workers=4, dataset=dict(fer_dataset, ann_file=ann_file_train))
