# S2D on FERV39k exactly as the released script scripts/ft_ferv39k.sh trained it
# (github.com/MSA-LMC/S2D at e1b5e5d), whose released result is
# UAR / WAR 41.28 / 52.56 (official split; docs/released_code.md §5): the paper
# config with SDL on with the release's behaviour (release_compat, anchors never refreshed).
# Same schedule (2 warm-up epochs, cosine, 100 epochs, lr 1e-5 per 8
# clips), augmentations and test views as the script. One departure: the
# script kept its best epoch by accuracy on the TEST split; this project
# never selects on the test split, so report the last epoch (the script
# tested its last epoch too). Table of all differences:
# docs/released_code.md §8. Short name: configs/s2d_ferv39k_release.py.
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
_base_ = ['./s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e_ferv39k-rgb.py']

# SDL as released: random initial anchors, raw similarity weights,
# post-dropout features, and refresh frequency 100 over epochs 0-99, i.e.
# never refreshed (docs/released_code.md §4, §7 items 14-17).
model = dict(cls_head=dict(loss_sdl=dict(release_compat=True)))
custom_hooks = [dict(_base_.custom_hooks[0], update_freq=100)]
