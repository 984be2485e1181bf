# S2D on FERV39k with oversampling (class-balanced sampler); else
# s2d_ferv39k.py.
# mmaction2-style name:
#   s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e-os_ferv39k-rgb
_base_ = ['./s2d_ferv39k.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'))
