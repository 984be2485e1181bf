# Short name of configs/s2d/s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e-os_mafw-rgb.py (protocol and
# provenance in its header).
_base_ = ['./s2d/s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e-os_mafw-rgb.py']
