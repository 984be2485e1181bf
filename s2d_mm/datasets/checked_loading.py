"""Running a dataset pipeline with media errors turned into named,
countable bad samples.

Only exceptions raised by *media* transforms (frame/video/image readers)
become :class:`BadSampleError`; a failure anywhere else in the pipeline is a
bug and propagates unchanged, so ``on_bad_sample='skip'`` never hides one.
"""
import os.path as osp
from typing import Optional

import numpy as np

from .utils import BadSampleError, BadSampleHandler

# Class names (anywhere in a transform's MRO) that read media from disk.
MEDIA_TRANSFORMS = frozenset({
    'RawFrameDecode', 'DecordInit', 'DecordDecode', 'OpenCVInit',
    'OpenCVDecode', 'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode',
    'LoadImageFromFile', 'LoadRGBFromFile'
})


def _is_media_transform(transform) -> bool:
    return any(c.__name__ in MEDIA_TRANSFORMS for c in type(transform).__mro__)


def _bad_frames(results: dict) -> Optional[str]:
    """Name the first missing/unreadable frame of a decoded clip, if any."""
    imgs = results.get('imgs')
    if imgs is None:
        return None
    for k, img in enumerate(imgs):
        if img is None or getattr(img, 'size', 0) == 0:
            return _frame_name(results, k) + ' could not be decoded'
    return None


def _frame_name(results: dict, k: int) -> str:
    if 'frame_dir' in results and 'frame_inds' in results:
        inds = np.asarray(results['frame_inds']).reshape(-1)
        if k < len(inds):
            idx = int(inds[k]) + results.get('offset', 0)
            return osp.join(results['frame_dir'],
                            results['filename_tmpl'].format(idx))
    return f'frame {k}'


def _diagnose(results: dict) -> str:
    """After a reader crashed: find the frame file that caused it."""
    if 'frame_dir' not in results or 'frame_inds' not in results:
        return ''
    import mmcv
    tmpl = results['filename_tmpl']
    for idx in np.unique(np.asarray(results['frame_inds']).reshape(-1)):
        idx = int(idx) + results.get('offset', 0)
        try:
            path = osp.join(results['frame_dir'], tmpl.format(idx))
        except IndexError as e:
            return f'frame index {idx}: {e}'
        if not osp.isfile(path):
            return f'frame {path} is missing'
        with open(path, 'rb') as f:
            data = f.read()
        if not data:
            return f'frame {path} is empty'
        if mmcv.imfrombytes(data) is None:
            return f'frame {path} is not a readable image'
    return ''


class CheckedPipelineMixin:
    """``prepare_data`` for datasets with ``on_bad_sample`` handling.

    The host class provides ``describe_sample(idx) -> str`` and
    ``resolve_media(data_info) -> dict`` (may raise
    :class:`BadSampleError`), and calls :meth:`_init_bad_sample` before
    ``super().__init__``.
    """

    def _init_bad_sample(self, on_bad_sample: str, test_mode: bool) -> None:
        self.bad_sample_handler = BadSampleHandler(on_bad_sample,
                                                   type(self).__name__,
                                                   test_mode)

    @property
    def num_skipped(self) -> int:
        """Samples skipped as bad by this process (``on_bad_sample='skip'``)."""
        return self.bad_sample_handler.num_skipped

    def resolve_media(self, data_info: dict) -> dict:
        return data_info

    def describe_sample(self, idx: int) -> str:
        return f'sample {idx}'

    def prepare_data(self, idx: int):
        try:
            return self._checked_pipeline(idx)
        except BadSampleError as err:
            self.bad_sample_handler.handle(idx, err)
            return None

    def _checked_pipeline(self, idx: int):
        results = self.get_data_info(idx)
        try:
            results = self.resolve_media(results)
        except BadSampleError as err:
            raise BadSampleError(f'{self.describe_sample(idx)}: {err}') \
                from None
        for transform in self.pipeline.transforms:
            if not _is_media_transform(transform):
                results = transform(results)
            else:
                inputs = results
                try:
                    results = transform(results)
                except Exception as err:  # a reader failed on this sample
                    where = _diagnose(inputs) or f'{type(err).__name__}: {err}'
                    raise BadSampleError(
                        f'{self.describe_sample(idx)}: {type(transform).__name__}'
                        f' failed: {where}') from err
                if results is not None:
                    bad = _bad_frames(results)
                    if bad:
                        raise BadSampleError(
                            f'{self.describe_sample(idx)}: {bad}')
            if results is None:
                return None
        return results
