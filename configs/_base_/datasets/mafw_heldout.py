# mafw with a validation set for checkpoint selection that never touches the
# test split: a deterministic, stratified 10 % of the training split (seed 0)
# is held out; the model trains on the remaining 90 %. The test split is
# still read only by tools/test.py.
_base_ = ['./mafw.py']

train_dataloader = dict(
    dataset=dict(val_split=dict(ratio=0.1, seed=0, part='train')))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file={{_base_.ann_file_train}},
        fold={{_base_.fold}},
        data_prefix=dict(video={{_base_.frames}}),
        val_split=dict(ratio=0.1, seed=0, part='val'),
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
val_evaluator = dict(
    _delete_=True, type='UARWARMetric', file_prefix='val')
