# S2D on MAFW, the paper's protocol (fold 1 by default; `--cfg-options fold=k`):
# train on the FULL training split and report the LAST epoch on the test
# split with tools/test.py. Nothing is ever selected on the test split (the
# release did that); for checkpoint selection on a held-out part of the
# training split use s2d_mafw_heldout.py, which inherits this file.
#
# MAFW: single-label, 11 classes, 5 folds. mmaction2-style name:
#   s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e_mafw-fold1-rgb
#
# Released MAFW recipe = the DFEW one (mixup 0.8 / cutmix 1.0, label
# smoothing 0.1, dropout 0.5; 16 frames at interval 1 since 2024-09-05).
# SDL on as in the paper (the released script leaves it off).
#
#   python tools/train.py configs/s2d_mafw.py
#   python tools/test.py configs/s2d_mafw.py work_dirs/s2d_mafw/.../epoch_100.pth
_base_ = [
    './_base_/models/s2d_vit-base-p16.py',
    './_base_/datasets/mafw.py',
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


# paper protocol: no validation loop (the schedule base defines one) and no
# best checkpoint; the last epoch is reported
val_cfg = None
default_hooks = dict(checkpoint=dict(save_best=None))
