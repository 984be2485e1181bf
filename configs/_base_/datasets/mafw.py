# MAFW, single-label 5-fold protocol, 11 classes (docs/method.md §5.1). Reads
# anno/single/no_caption/set_k/{train,test}.txt ('03747.mp4 anger', CRLF);
# the .csv form of the same split (video_name,labels, 0-based) works too.
# Paper protocol: no validation loop; configs/s2d_mafw_heldout.py adds one on
# a held-out part of the training split. Switch folds with
# `--cfg-options fold=k`.
_base_ = ['./s2d_video_pipelines.py']

dataset_type = 'MAFWDataset'
data_root = 'data/MAFW'
fold = 1
frames = 'data/frames/frames_crop_align_224'
ann_file_train = 'anno/single/no_caption/set_{fold}/train.txt'
ann_file_test = 'anno/single/no_caption/set_{fold}/test.txt'

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
        data_prefix=dict(video=frames),
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
