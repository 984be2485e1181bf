# Held-out-validation flavour of s2d_mafw.py: a deterministic, stratified
# 10 % of the training split (seed 0) is carved out for checkpoint
# selection (best UAR / WAR); the model trains on the other 90 %. The test
# split is still read only by tools/test.py.
#
# S2D on MAFW (single-label, 11 classes), 5-fold protocol, fold 1 default.
# mmaction2-style name:
#   s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e_mafw-fold1-rgb
#
# Released MAFW recipe = the DFEW one (mixup 0.8 / cutmix 1.0, label
# smoothing 0.1, dropout 0.5; 16 frames at interval 1 since 2024-09-05).
# SDL on as in the paper (the released script leaves it off).
_base_ = [
    './_base_/models/s2d_vit-base-p16.py',
    './_base_/datasets/mafw_heldout.py',
    './_base_/schedules/adamw_cosine_100e_warmup.py',
    './_base_/default_runtime.py'
]

image_stage_ckpt = 'checkpoints/vitmcp_vit-base-p16_affectnet7.pth'
landmark_ckpt = 'checkpoints/mobilefacenet_model_best.pth.tar'

# The single fold switch (`--cfg-options fold=k`).
fold = 1
num_classes = 11

model = dict(
    backbone=dict(
        landmark=dict(checkpoint=landmark_ckpt),
        # strict: only the TMAs and the temporal embedding may be missing
        init_cfg=dict(type='ImageStageInit', checkpoint=image_stage_ckpt)),
    cls_head=dict(
        num_classes=num_classes,
        dropout_ratio=0.5,
        label_smooth_eps=0.1,
        loss_sdl=dict(
            _delete_=True,  # None in the model base
            type='EmotionAnchorsSDL',
            num_classes=num_classes,
            feat_dim=768,
            queue_size=16,
            topk=2,
            loss_type='bce')),
    data_preprocessor=dict(
        blending=dict(
            type='RandomBatchAugment',
            augments=[
                dict(type='MixupBlending', alpha=0.8,
                     num_classes=num_classes),
                dict(type='CutmixBlending', alpha=1.0,
                     num_classes=num_classes)
            ])))

find_unused_parameters = True

default_hooks = dict(
    checkpoint=dict(save_best=['UAR', 'WAR'], rule='greater'))
