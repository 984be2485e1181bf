# S2D image model with a ViT-S/16; otherwise as vitmcp_vit-base-p16.py.
_base_ = ['./vitmcp_vit-base-p16.py']

model = dict(backbone=dict(arch='vit-small'), head=dict(in_channels=384))
