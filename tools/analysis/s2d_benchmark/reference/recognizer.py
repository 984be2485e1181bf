"""The release's way of running S2D, as a recognizer."""
import functools

import torch
import torch.nn as nn
from mmaction.models.recognizers import Recognizer3D

from s2d_mm.models.recognizers import S2DRecognizer
from s2d_mm.registry import MMACTION_MODELS

from .anchor_search import use_python_loop_anchor_search
from .attention import set_attention_impl


def force_float32(module: nn.Module) -> nn.Module:
    """Run ``module`` in float32 whatever autocast says (the release's
    landmark branch); the output is cast back to the input's dtype."""
    if getattr(module, '_forced_float32', False):
        return module
    forward = module.forward

    @functools.wraps(forward)
    def float32_forward(frames=None, *args, **kwargs):
        dtype = frames.dtype if frames is not None else None
        device_type = (frames.device.type if frames is not None else 'cpu')
        with torch.autocast(device_type=device_type, enabled=False):
            out = forward(
                frames.float() if frames is not None else None, *args,
                **kwargs)
        return out if dtype is None else out.to(dtype)

    module.forward = float32_forward
    module._forced_float32 = True
    return module


@MMACTION_MODELS.register_module()
class ReleaseStyleS2DRecognizer(S2DRecognizer):
    """S2D run the way the authors' release runs it (reference for the
    benchmark and the equivalence tests; same weights and outputs as
    :class:`S2DRecognizer`):

    - eager ``softmax(q k^T) v`` attention in the ViT blocks and the TMAs;
    - every test view through the backbone, identical or not;
    - the landmark network in float32 in every forward;
    - when the SDL refresh is on, an extra ``no_grad`` forward of the whole
      model (landmark network included) on the batch after the training
      forward, whose pooled features and scores go into the bank;
    - anchor search and FIFO push as per-sample Python loops.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        set_attention_impl(self, 'eager')
        landmark = getattr(self.backbone, 'landmark', None)
        if landmark is not None:
            force_float32(landmark)
        sdl = getattr(self.cls_head, 'loss_sdl', None)
        if sdl is not None:
            use_python_loop_anchor_search(sdl)

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck',
                     data_samples=None, test_mode: bool = False):
        """mmaction2's 3D feature extraction: all views, no de-duplication.
        """
        return Recognizer3D.extract_feat(
            self, inputs, stage=stage, data_samples=data_samples,
            test_mode=test_mode)

    def _needs_clean_pass(self, sdl) -> bool:
        """The release always runs the refresh as a second forward (on the
        batch itself when it is not mixed)."""
        return True
