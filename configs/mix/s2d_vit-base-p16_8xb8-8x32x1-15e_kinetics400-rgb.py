# Mixing S2D into a stock mmaction2 experiment: the TimeSformer Kinetics-400
# config (dataset, pipelines, evaluator, schedule and runtime) is inherited
# unchanged, only the recognizer is swapped for S2D (ViT-B/16 + MCPs + TMAs,
# 8 frames to match the stock 8x32x1 sampling, landmark branch) and the
# optimiser for S2D's AdamW recipe (the ViT is frozen). The Kinetics clips
# are not face crops, so the landmark view is of little use here; the config
# shows how the pieces combine. SDL is off: add
#   model.cls_head.loss_sdl=dict(type='EmotionAnchorsSDL', num_classes=400,
#   feat_dim=768) and custom_hooks=[dict(type='SDLScheduleHook')]
# to use it.
# mmaction2-style name: s2d_vit-base-p16_8xb8-8x32x1-15e_kinetics400-rgb
# Protocol: mmaction2's TimeSformer Kinetics-400 one (train list, per-epoch
# validation on the val list, tested on it).
# Run on real data: not by this project (no dataset, no GPU here).
_base_ = [
    'mmaction::recognition/timesformer/'
    'timesformer_spaceOnly_8xb8-8x32x1-15e_kinetics400-rgb.py'
]
custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)

# image-stage (ViT + MCP) checkpoint the video model starts from
image_stage_ckpt = 'checkpoints/vitmcp_vit-base-p16_affectnet7.pth'
landmark_ckpt = 'checkpoints/mobilefacenet_model_best.pth.tar'

model = dict(
    _delete_=True,
    type='S2DRecognizer',
    backbone=dict(
        type='S2DViT',
        arch='vit-base',
        img_size=224,
        patch_size=16,
        num_frames=8,
        landmark=dict(
            type='LandmarkFeatureExtractor',
            model='{{ fileDirname }}/../_base_/models/'
            'landmark_mobilefacenet.py',
            checkpoint=landmark_ckpt,
            out_indices=(5, ),
            grid_size=(14, 14)),
        landmark_channels=128,
        tma=dict(ratio=0.25, num_heads=8),
        # strict: only the TMAs and the temporal embedding may be missing
        init_cfg=dict(type='ImageStageInit', checkpoint=image_stage_ckpt)),
    cls_head=dict(
        type='S2DHead',
        num_classes=400,
        in_channels=768,
        dropout_ratio=0.5,
        average_clips='prob'),
    data_preprocessor=dict(
        type='S2DDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))


optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(
        type='AdamW', lr=1e-5, betas=(0.9, 0.999), eps=1e-8,
        weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        flat_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'temporal_embedding': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
        }))
# lr above is per 8 clips
auto_scale_lr = dict(enable=True, base_batch_size=8)
