# affectnet8 with a deterministic stratified 10 % of the training split (seed 0) held
# out for checkpoint selection; trains on the other 90 %.
_base_ = ['./affectnet8.py']

train_dataloader = dict(
    dataset=dict(val_split=dict(ratio=0.1, seed=0, part='train')))
val_dataloader = dict(
    _delete_=True,
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        split='train',
        num_classes=8,
        val_split=dict(ratio=0.1, seed=0, part='val'),
        pipeline={{_base_.test_pipeline}},
        test_mode=True))
val_evaluator = dict(
    _delete_=True, type='UARWARMetric', file_prefix='val')
