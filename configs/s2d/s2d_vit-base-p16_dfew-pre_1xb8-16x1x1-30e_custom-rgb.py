# S2D fine-tuned on one's own labelled videos (README "Train on your own
# videos"): raw videos -> tools/data/extract_faces.py -> tools/data/
# make_folds.py -> this config, one run per fold (`--cfg-options fold=k`)
# -> tools/test.py -> tools/analysis/aggregate_folds.py --folds.
#
# Edit `classes` (your label names, in label order; the head's size is its
# length) and `data_root` here, or in a copy of this file per experiment:
# `--cfg-options` can change paths and `fold`, not the class count.
#
# Starting point, one of:
# - a converted released DFEW video checkpoint (default): every weight of
#   S2D (ViT, MCPs, TMAs, temporal embedding) as trained on DFEW; a classifier of another class set starts fresh
#   (`allow_head_mismatch`), the rest must fit. Extract with
#   `--num-frames 16`: DFEW's models were trained on clip_224x224_16f,
#   every clip time-normalised to 16 frames;
# - an image-stage checkpoint (configs/image/..., or the released
#   pretrain-AffectNet-7.pth converted): configs/s2d_custom_from_image.py.
_base_ = [
    '../_base_/models/s2d_vit-base-p16.py',
    '../_base_/datasets/custom_videos.py',
    '../_base_/schedules/adamw_cosine_100e_warmup.py',
    '../_base_/default_runtime.py'
]

classes = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear')
num_classes = len(classes)
data_root = 'data/my_faces'
fold = 1

# tools/convert_official_s2d.py DFEW_CKPT checkpoints/s2d_dfew_converted.pth
dfew_ckpt = 'checkpoints/s2d_dfew_converted.pth'
load_from = dfew_ckpt
# the released MobileFaceNet: converted video checkpoints hold no landmark
# network (the branch loads its own, as in configs/s2d_dfew.py)
landmark_ckpt = 'checkpoints/mobilefacenet_model_best.pth.tar'

model = dict(
    backbone=dict(landmark=dict(checkpoint=landmark_ckpt)),
    cls_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(data_root=data_root, classes=classes))
test_dataloader = dict(
    dataset=dict(data_root=data_root, classes=classes))

# Fine-tuning a small set: 30 epochs, 1 warm-up epoch, cosine; the rest of
# the DFEW recipe (AdamW lr 1e-5 per 8 clips, wd 0.05, augmentation) as is.
# SDL stays off (the model base's loss_sdl=None): its schedule starts at
# epoch 30 of 100 in the DFEW recipe.
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=6.25e-10,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]

# the last epoch is reported (no validation loop, no best checkpoint);
# a head of another class count than DFEW's 7 starts fresh
val_cfg = None
default_hooks = dict(
    checkpoint=dict(save_best=None, max_keep_ckpts=1),
    strict_load=dict(allow_head_mismatch=True))
