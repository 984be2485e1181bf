# S2D on FERV39k, the paper's protocol (one official split):
# train on the whole training split, report the last epoch on the test split
# (tools/test.py). Nothing is selected on the test split.
# Short name: configs/s2d_ferv39k.py. Name: ViT-B/16 S2D, AffectNet-7 image
# stage, 2 GPUs x 8 clips, 16 frames x interval 1 x 1 clip, 100 epochs.
# Recipe: configs/_base_/recipes/s2d_video.py (the released scripts'
# schedule and augmentations, docs/released_code.md §3.2); SDL on, as in
# the released FERV39k script, but with anchors refreshed in epochs 40 and
# 80 (the script never refreshes them: docs/released_code.md §7, item 14).
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
#
#   python tools/train.py configs/s2d_ferv39k.py
#   python tools/test.py configs/s2d_ferv39k.py work_dirs/s2d_ferv39k/.../epoch_100.pth
_base_ = [
    '../_base_/recipes/s2d_video.py', '../_base_/datasets/ferv39k.py'
]

# Released FERV39k script (docs/released_code.md §3.2): plain cross-entropy,
# no mixup / cutmix, no label smoothing, head dropout 0.
model = dict(
    cls_head=dict(dropout_ratio=0., label_smooth_eps=0.),
    data_preprocessor=dict(blending=None))
