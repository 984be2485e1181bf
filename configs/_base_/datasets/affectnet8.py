# AffectNet-8 (codes 8-10 left out); validation.csv is the test split.
# Paper protocol: train on the full training split, report the last epoch
# (val_dataloader None). affectnet8_heldout.py adds a validation set carved out of
# the training split; the test split is read only by tools/test.py.
# If your Manually_Annotated_Images hold full images rather than face
# crops, add dict(type='CropFaceBBox') after LoadImageFromFile (the CSV's
# face box is kept in every sample as `face_bbox`).
_base_ = ['./s2d_image_pipelines.py']

dataset_type = 'AffectNetDataset'
data_root = 'data/AffectNet'

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_classes=8,
        pipeline={{_base_.train_pipeline}}))
# No validation loop (paper protocol). val_cfg / test_cfg come from the
# schedule base; next to one that defines a ValLoop set `val_cfg = None`.
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_classes=8,
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
