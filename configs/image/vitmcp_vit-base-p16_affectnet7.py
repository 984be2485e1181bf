# S2D image stage (SFER): ViT-B/16 + Multi-View Complementary Prompters
# on AffectNet-7, mmpretrain ImageClassifier.
# mmaction2/mmpretrain-style name:
#   vitmcp_vit-base-p16_mae-affectnet-pre_2xb32-100e-cb_affectnet7-224px
# (2 GPUs x 32 images, 100 epochs, 224x224.) Model and schedule follow the
# authors' MAE-SFER fine-tune (_base_/models/vitmcp_vit-base-p16_mae-sfer.py,
# _base_/schedules/adamw_layerdecay_cosine_100e_image.py): label smoothing
# 0.1, mixup 0.8 / cutmix 1.0, RandAugment, random erasing 0.25, drop-path
# 0.1.
# Checkpoints are selected on a held-out 10 % of the training split. This
# is the image model the video configs start from (image_stage_ckpt).
# Protocol: train on 90 % of the official training split (class-balanced
# draws), keep the best held-out checkpoint, test on the official
# validation set (AffectNet has no public test set).
# Run on real data: not by this project (no dataset, no GPU here).
_base_ = [
    '../_base_/models/vitmcp_vit-base-p16_mae-sfer.py',
    '../_base_/datasets/affectnet7_heldout.py',
    '../_base_/schedules/adamw_layerdecay_cosine_100e_image.py',
    '../_base_/image_runtime.py'
]

# AffectNet's training set is very imbalanced and its evaluation set
# balanced: draw training images class-balanced (common practice for this
# benchmark; the S2D setting itself is not published).
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'))
