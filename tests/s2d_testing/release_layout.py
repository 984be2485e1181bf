"""State dicts in the authors' key layout (timm names, 1x1 convolutions),
made from s2d_mm models: what the released checkpoints hold, for testing
the converter and the tools that read released files."""
import re

# s2d_mm name -> release name (inverse of the converter's rules)
_TO_RELEASE = [
    (r'^backbone\.patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^backbone\.layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^backbone\.layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^backbone\.layers\.(\d+)\.attn\.', r'blocks.\1.attn.'),
    (r'^backbone\.layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^backbone\.layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^backbone\.ln1\.', 'ln_post.'),
    (r'^backbone\.landmark_embed\.', 'patch_embed_prompt.proj.'),
    (r'^backbone\.prompters\.(\d+)\.proj_image\.', r'prompt_blocks.\1.conv0_0.'),
    (r'^backbone\.prompters\.(\d+)\.proj_landmark\.',
     r'prompt_blocks.\1.conv0_1.'),
    (r'^backbone\.prompters\.(\d+)\.proj_out\.', r'prompt_blocks.\1.conv1x1.'),
    (r'^backbone\.prompters\.(\d+)\.fovea_scale$',
     r'prompt_blocks.\1.fovea.smooth'),
    (r'^backbone\.prompters\.(\d+)\.tma\.temporal\.fc_down\.',
     r'prompt_blocks.\1.TMA.T_Adapter.D_fc1.'),
    (r'^backbone\.prompters\.(\d+)\.tma\.temporal\.fc_up\.',
     r'prompt_blocks.\1.TMA.T_Adapter.D_fc2.'),
    (r'^backbone\.prompters\.(\d+)\.tma\.temporal\.attn\.',
     r'prompt_blocks.\1.TMA.T_Adapter.attn.'),
    (r'^backbone\.prompters\.(\d+)\.tma\.norm\.', r'prompt_blocks.\1.TMA.norm.'),
    (r'^backbone\.prompters\.(\d+)\.tma\.spatial\.fc_down\.',
     r'prompt_blocks.\1.TMA.S_Adapter.D_fc1.'),
    (r'^backbone\.prompters\.(\d+)\.tma\.spatial\.fc_up\.',
     r'prompt_blocks.\1.TMA.S_Adapter.D_fc2.'),
    (r'^backbone\.', ''),
    (r'^cls_head\.', 'head.'),
]


def to_release(sd):
    out = {}
    for k, v in sd.items():
        if k.startswith('data_preprocessor'):
            continue
        new = k
        for pat, rep in _TO_RELEASE:
            if re.match(pat, k):
                new = re.sub(pat, rep, k)
                break
        if re.search(r'(conv0_[01]|conv1x1|patch_embed_prompt\.proj)\.weight$',
                     new):
            v = v[:, :, None, None]  # release: 1x1 convolutions
        out[new] = v.clone()
    return out
