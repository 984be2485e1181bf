# S2D on DFEW with oversampling (the README's "w/ oversampling" column):
# training clips drawn with probability inversely proportional to their
# class frequency (ClassBalancedSampler, N draws per epoch, with
# replacement, as the release's --use_bds). Everything else as s2d_dfew.py.
# mmaction2-style name:
#   s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e-os_dfew-fold1-rgb
_base_ = ['./s2d_dfew.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'))
