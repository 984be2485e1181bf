"""Frame decoding as the release does it: every frame of the video."""
import numpy as np
from mmaction.datasets.transforms import RawFrameDecode

from s2d_mm.registry import MMACTION_TRANSFORMS


@MMACTION_TRANSFORMS.register_module()
class ReleaseStyleRawFrameDecode(RawFrameDecode):
    """Decode all ``total_frames`` frames of the folder, then take
    ``frame_inds`` from them (copies), as the released loader reads a whole
    video before cutting its clips. Same output as ``RawFrameDecode``.
    """

    def transform(self, results: dict) -> dict:
        inds = np.asarray(results['frame_inds']).reshape(-1)
        start = results.get('start_index', 0)
        results['frame_inds'] = np.arange(
            start, start + results['total_frames'])
        results = super().transform(results)
        frames = np.stack(results['imgs'])
        results['imgs'] = list(frames[inds - start])
        results['frame_inds'] = inds
        return results
