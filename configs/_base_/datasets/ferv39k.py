# FERV39k, official train/test split (docs/method.md §5.1). Paper protocol: no
# validation loop; configs/s2d_ferv39k_heldout.py adds one on a held-out
# part of the training split.
_base_ = ['./s2d_video_pipelines.py']

dataset_type = 'FERV39kDataset'
data_root = 'data/FERV39k'
frames = '2_ClipsforFaceCrop'

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # oversampling ("w/ OS" results): sampler=dict(type='ClassBalancedSampler')
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='Annotation/train.csv',
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
        ann_file='Annotation/test.csv',
        data_prefix=dict(video=frames),
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
