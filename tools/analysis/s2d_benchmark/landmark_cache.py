"""Disk cache of frozen landmark features, keyed by frame and detector.

Part of the benchmark (section ``landmark_cache`` of
``tools/analysis/benchmark.py`` measures what reading features back saves
against running the landmark network); no config or model of the package
uses it.

The landmark branch is frozen, so for a frame that always reaches the model
the same way (test time; training without crops, flips or other geometric
augmentation) its features never change: they can be computed once and read
back afterwards. :class:`LandmarkFeatureCache` stores them in memory-mapped
``.npy`` shards under ``<cache_dir>/<digest>/``, where the digest hashes the
detector's weights and every setting that changes its output (stage, sizes,
grid, normalisation) plus an optional ``extra_key`` (e.g. the test
pipeline). A different detector therefore gets a different directory and
never reads stale rows.

Layout of ``<cache_dir>/<digest>/``::

    meta.json               shape, dtype, settings, digest
    r{rank}_s{k}.npy        shard k of rank ``rank``: (rows_per_shard, C, h, w)
    r{rank}_index.tsv       append-only "key<TAB>shard<TAB>row" lines

Each rank writes only its own shards and index (no locking across
processes); at start-up the indices of all ranks are read, so later runs
reuse everything. An index line is appended only after its row is flushed,
so a crash never leaves an index entry without data.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import get_rank
from torch import Tensor

__all__ = [
    'LandmarkFeatureCache', 'detector_digest', 'frame_keys_from_metainfo'
]


def detector_digest(extractor: torch.nn.Module, extra_key: str = '') -> str:
    """SHA-1 of the extractor's weights and output-changing settings."""
    sha = hashlib.sha1()
    for name, tensor in sorted(extractor.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous().reshape(-1)
        sha.update(name.encode())
        sha.update(str(tuple(tensor.shape)).encode())
        sha.update(str(tensor.dtype).encode())
        sha.update(tensor.view(torch.uint8).numpy().tobytes()
                   if tensor.numel() else b'')
    settings = {
        key: getattr(extractor, key, None)
        for key in ('model_name', 'stage', 'input_size', 'grid_size',
                    'grid_mode', 'input_norm', 'flip_channels')
    }
    for key in ('input_scale', 'input_shift'):
        value = getattr(extractor, key, None)
        settings[key] = None if value is None else value.flatten().tolist()
    sha.update(json.dumps(settings, sort_keys=True, default=str).encode())
    sha.update(extra_key.encode())
    return sha.hexdigest()


def frame_keys_from_metainfo(metainfo: Mapping,
                             num_views: int,
                             clip_len: int) -> List[str]:
    """Per-frame cache keys of one mmaction2 sample, in model order.

    mmaction2's ``FormatShape('NCTHW')`` orders the views of a sample crop
    by crop, clip by clip within a crop, so view ``v`` is crop
    ``v // num_clips`` of clip ``v % num_clips``, whose frames are
    ``frame_inds[clip * clip_len:(clip + 1) * clip_len]``. Keys are the
    frame file path (rawframes: ``frame_dir`` + ``filename_tmpl``, frame
    index + ``offset``) or ``<video>#<index>`` (videos), with ``|crop<c>``
    appended when a sample has several crops.

    The pipeline must keep the metainfo, e.g.
    ``PackActionInputs(meta_keys=('frame_dir', 'filename', 'filename_tmpl',
    'offset', 'frame_inds', 'num_clips', 'clip_len'))``.

    Args:
        metainfo (Mapping): ``data_sample.metainfo``.
        num_views (int): Views V of the sample in the batch.
        clip_len (int): Frames T per view.

    Returns:
        list[str]: ``V * T`` keys, view-major, matching frames
        ``x.permute(0, 2, 1, 3, 4).reshape(V * T, 3, H, W)`` of an input
        ``x: (V, 3, T, H, W)``.
    """
    if 'frame_inds' not in metainfo:
        raise KeyError(
            'the landmark cache needs `frame_inds` (and `frame_dir` or '
            '`filename`) in the data sample metainfo; add them to '
            'PackActionInputs(meta_keys=...)')
    frame_inds = np.asarray(metainfo['frame_inds']).reshape(-1)
    num_clips = int(metainfo.get('num_clips', 1))
    if frame_inds.size != num_clips * clip_len:
        if frame_inds.size % clip_len:
            raise ValueError(
                f'{frame_inds.size} frame_inds do not split into clips of '
                f'{clip_len} frames')
        num_clips = frame_inds.size // clip_len
    if num_views % num_clips:
        raise ValueError(f'{num_views} views are not a multiple of '
                         f'{num_clips} clips')
    num_crops = num_views // num_clips
    if 'frame_dir' in metainfo:
        tmpl = metainfo.get('filename_tmpl', 'img_{:05}.jpg')
        offset = int(metainfo.get('offset', 0))
        paths = [
            osp.join(metainfo['frame_dir'], tmpl.format(int(i) + offset))
            for i in frame_inds
        ]
    elif 'filename' in metainfo:
        paths = [f"{metainfo['filename']}#{int(i)}" for i in frame_inds]
    else:
        raise KeyError('the landmark cache needs `frame_dir` (rawframes) or '
                       '`filename` (videos) in the data sample metainfo')
    keys = []
    for view in range(num_views):
        crop, clip = divmod(view, num_clips)
        suffix = f'|crop{crop}' if num_crops > 1 else ''
        keys.extend(p + suffix
                    for p in paths[clip * clip_len:(clip + 1) * clip_len])
    return keys


class LandmarkFeatureCache:
    """Compute-once store of per-frame landmark features.

    Args:
        cache_dir (str): Root folder, e.g. ``<work_dir>/landmark_cache``.
        extractor (LandmarkFeatureExtractor): The frozen branch; its
            ``forward(frames)`` computes missing rows.
        extra_key (str): Hashed into the directory name with the detector,
            e.g. ``str(cfg.test_pipeline)`` so that a changed resize/crop
            does not reuse old rows. Default: ''.
        dtype (str): Storage dtype, 'float32' (exact) or 'float16'.
            Default: 'float32'.
        rows_per_shard (int): Rows per ``.npy`` shard. Default: 4096.

    Example::

        cache = LandmarkFeatureCache('work_dirs/x/landmark_cache', extractor)
        feats = cache.get_or_compute(keys, frames)  # (N, C_l, Hp, Wp)
    """

    def __init__(self,
                 cache_dir: str,
                 extractor: torch.nn.Module,
                 extra_key: str = '',
                 dtype: str = 'float32',
                 rows_per_shard: int = 4096):
        if dtype not in ('float32', 'float16'):
            raise ValueError(
                f"dtype must be 'float32' or 'float16', got {dtype!r}")
        self.extractor = extractor
        self.digest = detector_digest(extractor, extra_key)
        self.root = osp.join(cache_dir, self.digest[:16])
        self.dtype = np.dtype(dtype)
        self.rows_per_shard = rows_per_shard
        self.rank = get_rank()
        self.feat_shape = self._output_shape()
        os.makedirs(self.root, exist_ok=True)
        self._check_meta()
        self._shards: Dict[Tuple[int, int], np.memmap] = {}
        self.index: Dict[str, Tuple[int, int, int]] = {}
        self._num_rows = 0  # rows written by this rank
        self._read_indices()

    # -- bookkeeping -------------------------------------------------------
    def _output_shape(self) -> Tuple[int, int, int]:
        grid = getattr(self.extractor, 'grid_size', None)
        size = grid if grid is not None else self.extractor.feat_size
        return (int(self.extractor.out_channels), int(size[0]), int(size[1]))

    def _check_meta(self) -> None:
        meta = dict(
            digest=self.digest,
            feat_shape=list(self.feat_shape),
            dtype=self.dtype.name,
            rows_per_shard=self.rows_per_shard)
        path = osp.join(self.root, 'meta.json')
        if osp.exists(path):
            with open(path) as f:
                old = json.load(f)
            if old != meta:
                raise ValueError(
                    f'landmark cache {self.root} was written with {old}, '
                    f'now asked for {meta}; use another cache_dir or '
                    'delete the folder')
        else:
            tmp = f'{path}.{self.rank}.tmp'
            with open(tmp, 'w') as f:
                json.dump(meta, f)
            os.replace(tmp, path)

    def _index_path(self, rank: int) -> str:
        return osp.join(self.root, f'r{rank}_index.tsv')

    def _shard_path(self, rank: int, shard: int) -> str:
        return osp.join(self.root, f'r{rank}_s{shard}.npy')

    def _read_indices(self) -> None:
        for name in sorted(os.listdir(self.root)):
            if not (name.startswith('r') and name.endswith('_index.tsv')):
                continue
            rank = int(name[1:-len('_index.tsv')])
            with open(osp.join(self.root, name)) as f:
                for line in f:
                    parts = line.rstrip('\n').split('\t')
                    if len(parts) != 3 or not line.endswith('\n'):
                        continue  # a line cut by a crash
                    key, shard, row = parts[0], int(parts[1]), int(parts[2])
                    self.index[key] = (rank, shard, row)
                    if rank == self.rank:
                        self._num_rows = max(
                            self._num_rows,
                            shard * self.rows_per_shard + row + 1)

    def _shard(self, rank: int, shard: int, create: bool = False):
        handle = self._shards.get((rank, shard))
        if handle is None:
            path = self._shard_path(rank, shard)
            if create and not osp.exists(path):
                handle = np.lib.format.open_memmap(
                    path,
                    mode='w+',
                    dtype=self.dtype,
                    shape=(self.rows_per_shard, ) + self.feat_shape)
            else:
                handle = np.load(
                    path, mmap_mode='r+' if rank == self.rank else 'r')
            self._shards[(rank, shard)] = handle
        return handle

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, key: str) -> bool:
        return key in self.index

    # -- API -----------------------------------------------------------------
    def read(self, keys: Sequence[str]) -> np.ndarray:
        """Cached rows of ``keys`` (all must be present), ``(N, C, h, w)``."""
        out = np.empty((len(keys), ) + self.feat_shape, dtype=self.dtype)
        for i, key in enumerate(keys):
            rank, shard, row = self.index[key]
            out[i] = self._shard(rank, shard)[row]
        return out

    def write(self, keys: Sequence[str], feats: Tensor) -> None:
        """Store ``(N, C, h, w)`` features under ``keys`` (this rank)."""
        if tuple(feats.shape[1:]) != self.feat_shape:
            raise ValueError(f'features of shape {tuple(feats.shape)} do not '
                             f'match the cache rows {self.feat_shape}')
        array = feats.detach().float().cpu().numpy().astype(self.dtype)
        lines, touched = [], set()
        for key, row_feat in zip(keys, array):
            shard, row = divmod(self._num_rows, self.rows_per_shard)
            handle = self._shard(self.rank, shard, create=True)
            handle[row] = row_feat
            touched.add(shard)
            self.index[key] = (self.rank, shard, row)
            lines.append(f'{key}\t{shard}\t{row}\n')
            self._num_rows += 1
        for shard in touched:
            self._shards[(self.rank, shard)].flush()
        with open(self._index_path(self.rank), 'a') as f:
            f.writelines(lines)

    def get_or_compute(self, keys: Sequence[str], frames: Tensor) -> Tensor:
        """Features of ``frames``, computing only the uncached ones.

        Args:
            keys (Sequence[str]): One key per frame (frame path), e.g. from
                :func:`frame_keys_from_metainfo`.
            frames (Tensor): ``(N, 3, H, W)`` frames as the extractor takes
                them; only the missing ones go through the network, in one
                batch.

        Returns:
            Tensor: ``(N, C_l, Hp, Wp)`` on ``frames.device`` in
            ``frames.dtype``.
        """
        if len(keys) != frames.shape[0]:
            raise ValueError(f'{len(keys)} keys for {frames.shape[0]} frames')
        missing: Dict[str, int] = {}
        for i, key in enumerate(keys):
            if key not in self.index and key not in missing:
                if '\t' in key or '\n' in key:
                    raise ValueError(f'cache keys cannot hold tabs or line '
                                     f'breaks: {key!r}')
                missing[key] = i
        if missing:
            with torch.no_grad():
                new = self.extractor(frames[list(missing.values())])
            self.write(list(missing), new)
        feats = torch.from_numpy(self.read(keys))
        return feats.to(device=frames.device, dtype=frames.dtype)
