# The "Train on your own videos" workflow in seconds on a CPU: the tiny S2D
# of the tests (configs/_base_/models/s2d_tiny.py, 4 frames of 32 px, random
# weights) on the clips of tools/data/extract_faces.py and the folds of
# tools/data/make_folds.py, 1 epoch. It checks the commands and the data,
# not a model: for one, use configs/s2d_custom.py. Everything but the model,
# the sizes and the schedule is as there (dataset, class list -> head,
# fine-tuning to another class set with `--cfg-options load_from=CKPT`).
_base_ = [
    '../_base_/models/s2d_tiny.py',
    '../_base_/datasets/custom_videos.py',
    '../_base_/schedules/adamw_cosine_100e_warmup.py',
    '../_base_/default_runtime.py'
]

classes = ('Happy', 'Sad')
num_classes = len(classes)
data_root = 'data/my_faces'
fold = 1

model = dict(cls_head=dict(num_classes=num_classes, loss_sdl=None))

clip_len = 4
side = 32
train_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=1, out_of_bound_opt='repeat_last'),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(side, side), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=2, test_mode=True, out_of_bound_opt='repeat_last'),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(side, side), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, classes=classes,
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, classes=classes,
                 pipeline=test_pipeline))

train_cfg = dict(max_epochs=1)
val_cfg = None
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(save_best=None),
    strict_load=dict(allow_head_mismatch=True))
