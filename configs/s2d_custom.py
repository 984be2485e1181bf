# Short name of configs/s2d/s2d_vit-base-p16_dfew-pre_1xb8-16x1x1-30e_custom-rgb.py (protocol and
# provenance in its header).
_base_ = ['./s2d/s2d_vit-base-p16_dfew-pre_1xb8-16x1x1-30e_custom-rgb.py']
