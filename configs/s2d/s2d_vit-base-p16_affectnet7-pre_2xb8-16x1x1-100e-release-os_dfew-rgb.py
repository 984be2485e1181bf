# S2D on DFEW, the released recipe (s2d_dfew_release.py) with oversampling:
# the README's "w/ oversampling" result UAR / WAR 65.45 / 74.81 (5-fold mean;
# docs/released_code.md §5). No released script enables oversampling
# (docs/released_code.md §7, item 25): the release's --use_bds flag is
# ClassBalancedSampler here. Short name: configs/s2d_dfew_release_os.py.
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
_base_ = ['./s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e-release_dfew-rgb.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'))
