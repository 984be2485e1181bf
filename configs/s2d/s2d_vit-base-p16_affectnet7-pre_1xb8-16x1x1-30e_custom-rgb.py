# configs/s2d_custom.py started from an image-stage checkpoint (ViT + MCPs
# trained on face images: configs/image/vitmcp_vit-base-p16_affectnet7.py,
# or the released pretrain-AffectNet-7.pth converted with
# tools/convert_official_s2d.py) and the released MobileFaceNet, as the
# paper's video stage does: the TMAs and the temporal embedding start fresh,
# everything else must fit (ImageStageInit is strict).
_base_ = ['./s2d_vit-base-p16_dfew-pre_1xb8-16x1x1-30e_custom-rgb.py']

image_stage_ckpt = 'checkpoints/vitmcp_vit-base-p16_affectnet7.pth'
load_from = None

model = dict(
    backbone=dict(
        init_cfg=dict(type='ImageStageInit', checkpoint=image_stage_ckpt)))
