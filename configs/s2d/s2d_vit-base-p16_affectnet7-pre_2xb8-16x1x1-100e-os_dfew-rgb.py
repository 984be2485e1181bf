# S2D on DFEW with oversampling (the README's "w/ oversampling" column of
# the release): training clips drawn with probability inversely
# proportional to their class frequency, N draws per epoch with replacement
# (ClassBalancedSampler, as the release's --use_bds; here the ranks share
# one list of draws). Everything else as the paper config; same protocol.
# Short name: configs/s2d_dfew_os.py.
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
_base_ = ['./s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e_dfew-rgb.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'))
