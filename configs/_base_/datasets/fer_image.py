# What the image FER dataset bases (affectnet7.py, rafdb.py, ferplus.py)
# share: the two protocols of fer_protocols.py (paper; held-out, switched on
# by affectnet7_heldout.py and rafdb_heldout.py) with the image stage's
# batch sizes and pipelines. Each dataset base adds its dataset dict (type,
# root, split, ...) to the loaders. val_cfg / test_cfg come from the
# schedule base; next to one that defines a ValLoop set `val_cfg = None`.
_base_ = ['./fer_protocols.py', './s2d_image_pipelines.py']

train_dataloader = dict(
    batch_size=32, dataset=dict(split='train',
                                pipeline={{_base_.train_pipeline}}))
test_dataloader = dict(
    batch_size=64, dataset=dict(pipeline={{_base_.test_pipeline}}))
heldout_val_dataloader = dict(
    batch_size=64,
    dataset=dict(split='train', pipeline={{_base_.test_pipeline}}))
