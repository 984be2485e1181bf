# What the image FER dataset bases (affectnet7.py, rafdb.py, ferplus.py)
# share: loaders, pipelines, the UAR / WAR evaluator and the held-out
# validation split. Each dataset base adds its dataset dict (type, root,
# split, ...) to the loaders below.
#
# Paper protocol: no validation loop (val_dataloader None); train on the
# whole training split and report the last epoch on the test split, which
# only tools/test.py reads. val_cfg / test_cfg come from the schedule base;
# next to one that defines a ValLoop set `val_cfg = None`.
# Held-out protocol (affectnet7_heldout.py, rafdb_heldout.py): validate on
# `heldout_val_dataloader`, a deterministic stratified 10 % of the training
# split (seed 0), the model training on the other 90 %
# (`heldout_train_split`); switched on as in fer_video.py.
_base_ = ['./s2d_image_pipelines.py']

heldout_train_split = dict(ratio=0.1, seed=0, part='train')

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(split='train', pipeline={{_base_.train_pipeline}}))
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}, test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')

heldout_val_dataloader = dict(
    test_dataloader,
    dataset=dict(
        test_dataloader['dataset'],
        split='train',
        val_split=dict(heldout_train_split, part='val')))
heldout_val_evaluator = dict(type='UARWARMetric', file_prefix='val')
