"""Studies: many videos, one output folder each and one summary.

- :func:`collect_videos` turns folders, glob patterns and list files into
  the list of videos (files or frame folders);
- :func:`analyze_study` runs :func:`~.timeline.analyze_video` on each and
  writes ``OUT/<name>/`` (``timeline.csv``, ``timeline.json``,
  ``timeline.png`` and ``result.json``, the video's summary rows) and
  ``OUT/summary.csv``. A video's folder is written under a temporary name
  and renamed when complete, so a run that is interrupted or killed leaves
  no folder a resumed run would take as finished: a resumed run skips the
  videos whose folder has a ``result.json`` and redoes the others. A video
  that fails (unreadable, no face, any error) gets its status and message
  in the summary and the batch goes on;
- sharded over processes (``shard=(rank, world_size)``, e.g. under
  torchrun, ``tools/dist_analyze.sh``) each process takes every
  ``world_size``-th video and writes ``summary.rank<r>.csv``;
  :func:`merge_summaries` joins them in the order of the video list.

``summary.csv`` has one row per video and confirmed track (one row with
empty track columns for a video without any): ``video, name, status,
message, duration_s, num_frames, fps, num_tracks, num_dropped_tracks,
num_windows, track_id, track_windows, track_first_s, track_last_s`` and the
track's mean probability per class.
"""
import csv
import glob
import json
import os
import os.path as osp
import shutil
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import atomic_write
from .face_crop import NoFaceFoundError

__all__ = ['collect_videos', 'output_names', 'analyze_study', 'write_outputs',
           'summary_rows', 'write_summary', 'merge_summaries',
           'SUMMARY_COLUMNS']

SUMMARY_COLUMNS = ('video', 'name', 'status', 'message', 'duration_s',
                   'num_frames', 'fps', 'num_tracks', 'num_dropped_tracks',
                   'num_windows', 'track_id', 'track_windows',
                   'track_first_s', 'track_last_s')
LIST_EXTENSIONS = ('.txt', '.lst', '.list')


def _is_frame_folder(path: str) -> bool:
    from s2d_mm.apis.video_reader import IMAGE_EXTENSIONS
    return any(osp.splitext(f)[1].lower() in IMAGE_EXTENSIONS
               for f in os.listdir(path))


def _videos_in(folder: str) -> List[str]:
    """Video files and frame folders directly inside ``folder``."""
    from s2d_mm.apis.video_reader import VIDEO_EXTENSIONS
    out = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if osp.isdir(path) and _is_frame_folder(path):
            out.append(path)
        elif osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
            out.append(path)
    return out


def _read_list(path: str) -> List[str]:
    """One video per line; ``#`` comments; relative to the list's folder."""
    base = osp.dirname(osp.abspath(path))
    out = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                out.append(line if osp.isabs(line) else osp.join(base, line))
    return out


def collect_videos(inputs: Sequence[str]) -> List[str]:
    """Videos named by ``inputs``: video files or frame folders, folders of
    them, glob patterns (``'study/*.mp4'``, quoted so the shell does not
    expand them) and list files (``.txt``, ``.lst``). Order kept,
    duplicates dropped.

    Raises:
        ValueError: an input matches nothing, naming it.
    """
    out: List[str] = []
    for item in inputs:
        if any(c in item for c in '*?[') and not osp.exists(item):
            found = sorted(glob.glob(item, recursive=True))
            if not found:
                raise ValueError(f'no file matches the pattern {item!r}')
        elif osp.isdir(item):
            found = [item] if _is_frame_folder(item) else _videos_in(item)
            if not found:
                raise ValueError(f'no video or frame folder in {item}')
        elif osp.isfile(item) and \
                osp.splitext(item)[1].lower() in LIST_EXTENSIONS:
            found = _read_list(item)
            if not found:
                raise ValueError(f'the list {item} names no video')
        elif osp.exists(item):
            found = [item]
        else:
            raise ValueError(f'video not found: {item}')
        out += [f for f in found if f not in out]
    return out


def output_names(videos: Sequence[str]) -> List[str]:
    """A folder name per video: its file name without extension, with a
    short hash of the full path where two videos share a name."""
    import hashlib
    stems = [osp.splitext(osp.basename(osp.normpath(v)))[0] for v in videos]
    counts = {s: stems.count(s) for s in stems}
    return [s if counts[s] == 1 else
            f'{s}_{hashlib.sha1(osp.abspath(v).encode()).hexdigest()[:6]}'
            for s, v in zip(stems, videos)]


def summary_rows(video: str, name: str, timeline=None, status: str = 'ok',
                 message: str = '') -> List[dict]:
    """The summary rows of one video (one per track)."""
    base = dict(video=video, name=name, status=status, message=message)
    if timeline is None:
        return [base]
    tl = timeline
    base.update(duration_s=round(tl.duration, 3), num_frames=tl.num_frames,
                fps=round(tl.fps, 3), num_tracks=len(tl.tracks),
                num_dropped_tracks=len(tl.dropped_tracks),
                num_windows=len(tl.rows))
    rows = []
    for t in tl.tracks:
        probs = tl.probs(t['track_id'])
        row = dict(base, track_id=t['track_id'], track_windows=len(probs),
                   track_first_s=round(t['first_frame'] / tl.fps, 3),
                   track_last_s=round((t['last_frame'] + 1) / tl.fps, 3))
        mean = probs.mean(0) if len(probs) else np.full(len(tl.classes),
                                                        np.nan)
        row.update({f'mean_{c}': round(float(p), 6)
                    for c, p in zip(tl.classes, mean)})
        rows.append(row)
    return rows or [base]


def write_summary(rows: Sequence[dict], path: str,
                  classes: Sequence[str]) -> str:
    columns = list(SUMMARY_COLUMNS) + [f'mean_{c}' for c in classes]
    # rows of an earlier run keep their columns
    columns += [k for r in rows for k in r if k not in columns]
    with atomic_write(path, newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval='')
        writer.writeheader()
        writer.writerows(rows)
    return path


def merge_summaries(paths: Sequence[str], out: str,
                    videos: Sequence[str]) -> str:
    """Join shard summaries into ``out``, rows in the order of ``videos``
    (then track id)."""
    rows, columns = [], None
    for p in paths:
        with open(p, newline='') as f:
            reader = csv.DictReader(f)
            columns = columns or reader.fieldnames
            rows += list(reader)
    order = {v: i for i, v in enumerate(videos)}
    rows.sort(key=lambda r: (order.get(r['video'], len(order)),
                             int(r['track_id'] or -1)))
    with atomic_write(out, newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


def write_outputs(timeline, folder: str, name: str,
                  annotated: bool = False) -> List[str]:
    """``timeline.csv``, ``timeline.json``, ``timeline.png`` (and
    ``annotated.mp4``) of one video into ``folder``."""
    from .timeline_visualize import plot_timeline, write_annotated_video
    out = [timeline.to_csv(osp.join(folder, 'timeline.csv')),
           timeline.to_json(osp.join(folder, 'timeline.json')),
           plot_timeline(timeline, osp.join(folder, 'timeline.png'),
                         title=name)]
    if annotated:
        out.append(write_annotated_video(
            timeline, timeline.source, osp.join(folder, 'annotated.mp4')))
    return out


def _finished(folder: str) -> Optional[List[dict]]:
    path = osp.join(folder, 'result.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)['summary']


def _fresh_tmp(out_dir: str, name: str) -> str:
    """An empty temporary folder for ``name``; leftovers of an earlier,
    interrupted run of the same video are removed."""
    for old in glob.glob(osp.join(out_dir, f'.{name}.tmp-*')):
        shutil.rmtree(old, ignore_errors=True)
    tmp = osp.join(out_dir, f'.{name}.tmp-{os.getpid()}')
    os.makedirs(tmp)
    return tmp


def _run_one(analyze: Callable, write: Callable, video: str, name: str,
             out_dir: str) -> Tuple[List[dict], str]:
    """Analyse one video into ``out_dir/name``; returns its summary rows
    and a one-line report."""
    tmp = _fresh_tmp(out_dir, name)
    timeline, status, message = None, 'ok', ''
    try:
        timeline = analyze(video)
        write(timeline, tmp, name)
    except NoFaceFoundError as err:
        status, message = 'no_face', str(err)
    except (ValueError, OSError) as err:  # unreadable, corrupt, truncated
        status, message = 'unreadable', str(err)
    except Exception as err:  # noqa: BLE001 - reported, the batch goes on
        status, message = 'error', f'{type(err).__name__}: {err}'
    rows = summary_rows(video, name, timeline, status, message)
    with atomic_write(osp.join(tmp, 'result.json')) as f:
        json.dump(dict(video=video, status=status, message=message,
                       summary=rows), f, indent=1)
    final = osp.join(out_dir, name)
    if osp.isdir(final):  # a folder without result.json: redo it
        shutil.rmtree(final)
    os.replace(tmp, final)
    if status == 'ok':
        s = timeline.stats
        line = (f'{name}: {timeline.duration:.1f} s, {s["num_tracks"]} '
                f'face track(s), {s["num_dropped_tracks"]} dropped, '
                f'{s["num_windows"]} windows, {s["windows_per_s"]:.2f} '
                'windows/s')
    else:
        line = f'{name}: {status}: {message}'
    return rows, line


def _print_error(line: str) -> None:
    print(f'error: {line}', file=sys.stderr)


def analyze_study(analyze: Callable,
                  videos: Sequence[str], out_dir: str,
                  classes: Sequence[str],
                  write: Callable = write_outputs,
                  shard: Tuple[int, int] = (0, 1),
                  log: Callable[[str], None] = print,
                  log_error: Optional[Callable[[str], None]] = None
                  ) -> Dict[str, object]:
    """Analyse this shard's videos, skipping finished ones.

    Args:
        analyze (callable): video -> :class:`~.timeline.VideoTimeline`.
        videos (Sequence[str]): every video of the study (all shards).
        out_dir (str): the study's output folder.
        classes (Sequence[str]): the model's classes (summary columns).
        write (callable): ``(timeline, folder, name)`` writes the outputs
            (:func:`write_outputs`).
        shard (tuple): ``(rank, world_size)``; this process takes videos
            ``rank, rank + world_size, ...``.
        log (callable): one line per video; ``log_error`` one per failed
            video (default: ``error: ...`` on stderr).

    Returns:
        dict: ``summary`` (this shard's summary file), ``done``,
        ``skipped`` and ``failed`` (names).
    """
    rank, world = shard
    os.makedirs(out_dir, exist_ok=True)
    names = output_names(videos)
    rows, done, skipped, failed = [], [], [], []
    for video, name in list(zip(videos, names))[rank::world]:
        finished = _finished(osp.join(out_dir, name))
        if finished is not None:
            rows += finished
            skipped.append(name)
            log(f'{name}: finished before, skipped')
            continue
        video_rows, line = _run_one(analyze, write, video, name, out_dir)
        rows += video_rows
        if video_rows[0]['status'] == 'ok':
            done.append(name)
            log(line)
        else:
            failed.append(name)
            (log_error or _print_error)(line)
    for name in skipped:  # earlier failures count as failures again
        if _finished(osp.join(out_dir, name))[0]['status'] != 'ok':
            failed.append(name)
    summary = osp.join(out_dir, 'summary.csv' if world == 1 else
                       f'summary.rank{rank}.csv')
    write_summary(rows, summary, classes)
    return dict(summary=summary, done=done, skipped=skipped, failed=failed)
