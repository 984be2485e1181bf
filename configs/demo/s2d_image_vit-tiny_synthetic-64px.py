# Demo, image stage (SFER): a tiny ViT with Multi-View Complementary
# Prompters, trained from scratch on synthetic still photos (one person each,
# at the apex of an expression: `static_train.txt`), with the demo landmark
# network as the MCPs' second view. Its backbone initialises the video stage
# (`s2d_video_vit-tiny_synthetic-dfew_8x64.py`).
# Protocol: synthetic stills; run by `make demo` only (never on real data).
_base_ = ['../_base_/models/vitmcp_vit-base-p16.py', './_demo_common.py']

default_scope = 'mmpretrain'
custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(num_classes=7),
    backbone=dict(
        arch={{_base_.vit_arch}},
        img_size={{_base_.img_side}},
        patch_size={{_base_.patch_size}},
        patch_cfg={{_base_.patch_cfg}},
        landmark={{_base_.landmark_branch}},
        landmark_channels={{_base_.landmark_channels}},
        # trained from scratch here, so its position embedding learns too
        freeze_pos_embed=False,
        drop_path_rate=0.0),
    head=dict(
        in_channels={{_base_.vit_arch.embed_dims}},
        loss=dict(_delete_=True, type='LabelSmoothLoss',
                  label_smooth_val=0.1, mode='original')))

data_root = {{_base_.data_root}}
classes = {{_base_.classes}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale={{_base_.img_side}},
         crop_ratio_range=(0.75, 1.0), aspect_ratio_range=(0.9, 1.1)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # colours say who the person is, not what they feel (no hue jitter:
    # mmcv's adjust_hue overflows on numpy 2 for negative shifts)
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=({{_base_.img_side}}, {{_base_.img_side}})),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset', data_root=data_root,
        ann_file='static_train.txt', data_prefix='', with_label=True,
        metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset', data_root=data_root,
        ann_file='static_test.txt', data_prefix='', with_label=True,
        metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='UARWARMetric', file_prefix='image_test')
test_evaluator = val_evaluator

# with the CNN stem the ViT fits the stills (1050 images) in ~20 epochs
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=20)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       custom_keys={'.cls_token': dict(decay_mult=0.0),
                                    '.pos_embed': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=20,
         eta_min=1e-5, convert_to_iter_based=True),
]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
env_cfg = {{_base_.demo_env_cfg}}
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
