# Demo landmark network: a narrow MobileFaceNet (the released landmark
# network's architecture, S2D's landmark view) trained from scratch on the
# frames of the training clips of `demo/generate_data.py`, whose 68
# landmarks (300-W mark-up) are known exactly; tested on frames of the test
# clips (other people). Same whole-frame input as S2D's
# landmark branch: the box is the whole face crop.
# Protocol: train on the training clips' frames, test on the test clips'
# (other people). Run on real data: never; `make demo` runs it on the
# synthetic data (README).
#
#   python -m demo.generate_data --out work_dirs/demo/data
#   python -m demo.run_demo          (trains it as its first step)
_base_ = ['../_base_/models/landmark_mobilefacenet.py']

default_scope = 'mmpose'
custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)

input_side = 64
codec = dict(type='RegressionLabel', input_size=(input_side, input_side))
model = dict(
    # channels-last: ~20 % faster depth-wise convolutions on CPU, also
    # where the later stages run this network as their landmark branch
    backbone=dict(widen_factor=0.5, num_blocks=(1, 2, 1),
                  channels_last=True),
    head=dict(in_channels=256, feat_size=input_side // 16, decoder=codec,
              loss=dict(type='L1Loss', use_target_weight=True)))

data_root = 'work_dirs/demo/data/'
dataset_type = 'Face300WDataset'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.04, shift_prob=0.5,
         scale_factor=(0.9, 1.1), rotate_factor=10.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='landmarks/train.json', data_prefix=dict(img=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='landmarks/test.json', data_prefix=dict(img=''),
        test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# NME normalised by the outer eye corners (landmarks 36 and 45), 300-W's
# inter-ocular protocol
val_evaluator = dict(type='NME', norm_mode='keypoint_distance')
test_evaluator = val_evaluator

# 8 epochs: on held-out training clips 3.3 px (12 epochs) vs 4.1 px mean
# error, no frame over 10 px either way, at two thirds of the time.
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)
# The last two epochs train with BatchNorm in its test-time form (running
# statistics): in training mode BatchNorm bounds a frame whose channels are
# far off the batch's at ~sqrt(batch size) standard deviations, at test time
# nothing does, and whole clips (e.g. on bright magenta backgrounds) came
# out ~1000 px off although their training loss was small.
custom_hooks = [dict(type='FrozenBatchNormHook', begin_epoch=6)]
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-3,
                                    weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=40),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=8,
         eta_min=1e-5),
]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='PoseLocalVisualizer', vis_backends=vis_backends,
                  name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
