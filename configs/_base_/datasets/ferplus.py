# FERPlus (8 classes, majority vote of fer2013new.csv); FER2013Train/Valid/Test image folders.
# FERPlus has an official validation split (Usage PublicTest, FER2013Valid):
# it serves checkpoint selection; the test split (PrivateTest) is read only
# by tools/test.py.
_base_ = ['./s2d_image_pipelines.py']

dataset_type = 'FERPlusDataset'
data_root = 'data/FERPlus'

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        vote_rule='majority',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        vote_rule='majority',
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
val_evaluator = dict(type='UARWARMetric', file_prefix='val')

test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        vote_rule='majority',
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
