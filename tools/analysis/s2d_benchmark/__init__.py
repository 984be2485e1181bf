"""Pieces of ``tools/analysis/benchmark.py``, one module per group of
sections (each a function ``bench_<section>(bench)`` over a
:class:`~s2d_benchmark.models.Bench`):

- :mod:`.models`: what the sections run on: model dict and pipelines from
  a config (the shipped ``configs/s2d_dfew.py`` by default, the tiny
  ``configs/_base_/models/s2d_tiny.py`` with ``--tiny``), the project's
  recognizer and the release-style reference with equal weights, inputs;
- :mod:`.report`: the table, the machine header and the exact lines that
  scripts read (with their parsers);
- :mod:`.forward`: ``machine`` (GEMM rate), ``forward``, ``flops``,
  ``landmark_cache``;
- :mod:`.training`: ``train`` (speed, peak memory, checkpointing);
- :mod:`.e2e`: ``e2e`` (test protocol on a generated DFEW layout) and
  ``data`` (training data pipeline);
- :mod:`.cpu_rate`: ``cpu_rate`` (one-thread CPU-time rate per part);
- :mod:`.precision`: ``precision`` (``tools/infer.py``-style speed and the
  agreement guard per inference precision) and ``int8_study``;
- :mod:`.modes`: ``modes`` (every native mode and ``auto`` on one clip
  against the fp32 / bf16 GEMM rates of the same run, ``--profile``);
- :mod:`.landmark_cache`: the landmark feature cache the
  ``landmark_cache`` section measures (benchmark-only);
- :mod:`.clone`: the demo's face renderer, imported from the clone;
- :mod:`.long_video`: ``long_video`` (peak RSS and time over a generated
  long video);
- :mod:`.timing`: timing and peak-memory helpers;
- :mod:`.reference`: the release-style reference path (registered on
  import).
"""
