# RAF-DB basic emotions (7 classes): EmoLabel/list_patition_label.txt + Image/aligned.
# Paper protocol: train on the full training split, report the last epoch
# (val_dataloader None). rafdb_heldout.py adds a validation set carved out of
# the training split; the test split is read only by tools/test.py.
_base_ = ['./s2d_image_pipelines.py']

dataset_type = 'RAFDBDataset'
data_root = 'data/RAF-DB/basic'

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
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
        split='test',
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')
