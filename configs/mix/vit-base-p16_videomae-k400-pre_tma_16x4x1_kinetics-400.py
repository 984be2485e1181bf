# VideoMAE ViT-B/16 (mmaction2's stock config, inherited unchanged) with a
# Temporal-Modeling Adapter in front of each of its 12 blocks. The stock
# backbone is built as it is (its checkpoints load with the same keys) and
# frozen; only the adapters (and the head) train. The adapters start at zero
# output, so the model starts as the stock one.
# Protocol: mmaction2's VideoMAE Kinetics-400 test config (val list).
# Run on real data: not by this project (no dataset, no GPU here).
_base_ = [
    'mmaction::recognition/videomae/'
    'vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py'
]
custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        type='TMABackbone',
        backbone_type='VisionTransformer',
        tma_args=dict(
            blocks_attr='blocks',
            layout='tokens',  # one sequence per clip, tubelets time-major
            num_prefix_tokens=0,
            tma=dict(ratio=0.25, num_heads=8, tma_init='zero'),
            freeze_backbone=True)))
