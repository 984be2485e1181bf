# DFEW, 5-fold protocol (docs/method.md §5.1, annotation format §5.2).
# Paper protocol: train on the full training split of the fold, report the
# last epoch on the test split; no validation loop (val_dataloader None).
# configs/s2d_dfew_heldout.py adds a validation split carved from the
# training split for checkpoint selection. Switch folds with
# `--cfg-options fold=k`.
_base_ = ['./s2d_video_pipelines.py']

dataset_type = 'DFEWDataset'
data_root = 'data/DFEW'
fold = 1
# DFEW's own EmoLabel_DataSplit files count classes from 1; the copies in
# the S2D release are 0-based. A file that does not fit is refused.
label_base = 1
frames = 'Clip/clip_224x224_16f'
ann_file_train = 'EmoLabel_DataSplit/train(single-labeled)/train_set_{fold}.csv'
ann_file_test = 'EmoLabel_DataSplit/test(single-labeled)/test_set_{fold}.csv'

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # oversampling ("w/ OS" results): sampler=dict(type='ClassBalancedSampler')
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_train,
        fold=fold,
        label_base=label_base,
        data_prefix=dict(video=frames),
        pipeline={{_base_.train_pipeline}}))
# No validation loop (paper protocol). val_cfg / test_cfg come from the
# schedule base; next to one that defines a ValLoop set `val_cfg = None`.
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    batch_size=4,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_test,
        fold=fold,
        label_base=label_base,
        data_prefix=dict(video=frames),
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
