# What the video FER dataset bases (dfew.py, ferv39k.py, mafw.py,
# custom_videos.py) share: the two protocols of fer_protocols.py (paper;
# held-out, switched on by the configs/s2d/*-heldout_*.py experiments) with
# the video stage's batch sizes and pipelines. Each dataset base adds its
# dataset dict (type, root, annotation files, fold, label base) to the
# loaders.
_base_ = ['./fer_protocols.py', './s2d_video_pipelines.py']

train_dataloader = dict(
    batch_size=8,
    # oversampling ("w/ OS" results): the *_os experiments
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline={{_base_.train_pipeline}}))
test_dataloader = dict(
    batch_size=4, dataset=dict(pipeline={{_base_.test_pipeline}}))
heldout_val_dataloader = dict(
    batch_size=8, dataset=dict(pipeline={{_base_.val_pipeline}}))
