# S2D image stage (SFER): ViT-B/16 + Multi-View Complementary Prompters
# on RAF-DB (basic, 7 classes), mmpretrain ImageClassifier.
# mmaction2/mmpretrain-style name:
#   vitmcp_vit-base-p16_mae-affectnet-pre_2xb32-100e_rafdb-224px
# (2 GPUs x 32 images, 100 epochs, 224x224.) Model and schedule follow the
# authors' MAE-SFER fine-tune (_base_/models/vitmcp_vit-base-p16_mae-sfer.py,
# _base_/schedules/adamw_layerdecay_cosine_100e_image.py): label smoothing
# 0.1, mixup 0.8 / cutmix 1.0, RandAugment, random erasing 0.25, drop-path
# 0.1.
# Checkpoints are selected on a held-out 10 % of the training split.
# Protocol: train on 90 % of the official training split, keep the best
# held-out checkpoint, test on the official test split.
# Run on real data: not by this project (no dataset, no GPU here).
_base_ = [
    '../_base_/models/vitmcp_vit-base-p16_mae-sfer.py',
    '../_base_/datasets/rafdb_heldout.py',
    '../_base_/schedules/adamw_layerdecay_cosine_100e_image.py',
    '../_base_/image_runtime.py'
]
