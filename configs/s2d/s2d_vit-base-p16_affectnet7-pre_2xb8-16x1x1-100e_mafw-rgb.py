# S2D on MAFW, the paper's protocol (fold 1 by default, `--cfg-options fold=k`):
# train on the whole training split, report the last epoch on the test split
# (tools/test.py). Nothing is selected on the test split.
# Short name: configs/s2d_mafw.py. Name: ViT-B/16 S2D, AffectNet-7 image
# stage, 2 GPUs x 8 clips, 16 frames x interval 1 x 1 clip, 100 epochs.
# Recipe: configs/_base_/recipes/s2d_video.py (the released scripts'
# schedule and augmentations, docs/released_code.md §3.2); SDL on as in the
# paper (the released MAFW script leaves it off: s2d_mafw_release.py).
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
#
#   python tools/train.py configs/s2d_mafw.py --cfg-options fold=K
#   python tools/test.py configs/s2d_mafw.py work_dirs/s2d_mafw/.../epoch_100.pth --cfg-options fold=K
_base_ = [
    '../_base_/recipes/s2d_video.py', '../_base_/datasets/mafw.py'
]

num_classes = 11
model = dict(
    cls_head=dict(
        num_classes=num_classes, loss_sdl=dict(num_classes=num_classes)),
    # the recipe's mixup / cutmix, one-hot over the 11 classes
    data_preprocessor=dict(
        blending=dict(augments=[
            dict(augment, num_classes=num_classes)
            for augment in _base_.model.data_preprocessor.blending.augments
        ])))
