# S2D video model with a ViT-S/16 (384 wide, 12 blocks, 6 heads); otherwise
# as s2d_vit-base-p16.py.
_base_ = ['./s2d_vit-base-p16.py']

model = dict(
    backbone=dict(arch='vit-small'),
    cls_head=dict(in_channels=384))
