"""Raw labelled videos -> one aligned 224-px face clip per video, in the
DFEW frame layout that ``LabelledVideoDataset`` (``configs/s2d_custom.py``)
reads.

Usage::

    # a CSV `path,label[,subject]` (paths relative to the CSV)
    python tools/data/extract_faces.py labels.csv data/my_faces --workers 4
    # or a folder of class folders: videos/<label>/**/<video>; the subject
    # is read from the file name with a regular expression
    python tools/data/extract_faces.py videos/ data/my_faces \\
        --subject-regex '^(s\\d+)_'

Per video: the face detector (``--detector``, MTCNN by default, as
``tools/analyze_video.py``) runs every ``--detect-every`` frames; the
detections are linked into confirmed tracks, one per person
(``s2d_mm.video_analysis.track_faces``), and the main face is kept (the face
seen longest, ``main_track``). A video whose second face is about as
present (detection rounds x area, ``--dominance``) is dropped
as ``several faces`` (whose label would it be?) unless ``--all-tracks``,
which writes one clip per face. Every frame of the track's span is cropped
with the track's smoothed box of that frame, made square and enlarged
(``--enlarge``, the crop of ``tools/infer.py`` and
``tools/analyze_video.py``), resized to ``--size`` (224) and written as
JPEG; ``--num-frames 16`` resamples each clip to 16 evenly spaced frames
(as DFEW's ``clip_224x224_16f``) instead of keeping the source rate.

Writes into OUT_DIR:

- ``frames/<clip id>/00001.jpg ...``: the face clips (the clip id is the
  video's path without extension, ``/`` -> ``__``; ``_t<k>`` per face with
  ``--all-tracks``), and ``meta/<clip id>.json`` (source frame of every
  crop, its crop box and face box);
- ``annotations.csv``: ``path,label[,subject]`` of the kept clips, written
  atomically, for ``LabelledVideoDataset`` and ``tools/data/make_folds.py``;
- ``extract_report.csv``: one row per input video: frames kept, the
  detector's hit rate, and why a video was dropped (``no face``,
  ``too short``, ``corrupt``, ``several faces``); a bad video never stops
  the batch;
- ``extract_summary.json``: counts, options, time, videos per minute and
  source frames per second.

A rerun skips the videos already finished with the same options (their
record is in ``.state/``) and redoes half-written ones (a clip is written
into ``<clip id>.partial/`` and renamed when complete; the record comes
last).
"""
import argparse
import csv
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import sys
import time

REPORT_COLUMNS = ('video', 'label', 'subject', 'status', 'reason', 'detail',
                  'clips', 'frames_total', 'fps', 'frames_kept',
                  'detection_rounds', 'hit_rate', 'track_hit_rate', 'faces',
                  'seconds')
DROP_REASONS = ('no face', 'too short', 'corrupt', 'several faces')
STATE_VERSION = 1


# ---------------------------------------------------------------- inputs
class InputError(ValueError):
    """The list of videos cannot be read (names the file and line)."""


class OutputError(RuntimeError):
    """The clips cannot be written (disk full, no permission): not the
    video's fault, so the batch stops instead of recording a drop."""


def clip_id_of(rel_path: str) -> str:
    """The clip id of a video: its relative path without extension, folders
    joined by ``__``, other characters than letters, digits, ``-_.`` by
    ``_``."""
    stem = osp.splitext(rel_path.replace('\\', '/').strip('/'))[0]
    return re.sub(r'[^A-Za-z0-9_.-]', '_', stem.replace('/', '__'))


def read_inputs(src: str, video_root=None, subject_regex=None):
    """Videos to extract: list of dicts ``video`` (path), ``name`` (as
    given), ``id``, ``label``, ``subject``, ``line``."""
    from s2d_mm.apis.video_reader import VIDEO_EXTENSIONS
    from s2d_mm.datasets.labelled_videos import parse_labelled_rows
    tasks = []
    if osp.isdir(src):
        root = src
        for dirpath, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                if not name.lower().endswith(VIDEO_EXTENSIONS):
                    continue
                rel = osp.relpath(osp.join(dirpath, name), root)
                parts = rel.replace('\\', '/').split('/')
                if len(parts) < 2:
                    raise InputError(
                        f'{osp.join(root, rel)}: a video folder holds one '
                        'folder per class (<root>/<label>/<video>); pass a '
                        'CSV path,label[,subject] otherwise')
                tasks.append(dict(video=osp.join(root, rel), name=rel,
                                  label=parts[0], subject=None, line=None))
        if not tasks:
            raise InputError(f'no video ({", ".join(VIDEO_EXTENSIONS)}) '
                             f'under {root}/<label>/')
    elif osp.isfile(src):
        from s2d_mm.datasets.utils import AnnotationError
        try:
            rows = parse_labelled_rows(src)
        except AnnotationError as err:
            raise InputError(str(err)) from None
        if not rows:
            raise InputError(f'{src}: no video listed')
        root = video_root or osp.dirname(osp.abspath(src))
        for row in rows:
            path = row['path']
            full = path if osp.isabs(path) else osp.join(root, path)
            tasks.append(dict(video=full, name=path, label=row['label'],
                              subject=row['subject'], line=row['line']))
    else:
        raise InputError(f'{src} is neither a CSV file nor a folder')
    if subject_regex:
        pattern = re.compile(subject_regex)
        for t in tasks:
            if t['subject'] is not None:
                continue
            m = pattern.search(osp.basename(t['name']))
            if not m:
                raise InputError(f'{t["name"]}: --subject-regex '
                                 f'{subject_regex!r} does not match')
            t['subject'] = m.groupdict().get('subject') or (
                m.group(1) if m.groups() else m.group(0))
    # clip ids from the paths as given; absolute ones relative to the
    # folder all the videos are in
    named = [t['name'] for t in tasks]
    if any(osp.isabs(n) for n in named):
        base = osp.commonpath([osp.dirname(osp.abspath(t['video']))
                               for t in tasks])
        named = [osp.relpath(osp.abspath(t['video']), base) for t in tasks]
    seen = {}
    for t, name in zip(tasks, named):
        t['id'] = clip_id_of(name)
        if t['id'] in seen:
            raise InputError(f'{t["name"]} and {seen[t["id"]]} give the same '
                             f'clip id {t["id"]!r}')
        seen[t['id']] = t['name']
    return tasks


# ----------------------------------------------------------- extraction
def atomic_write(path: str, text: str) -> None:
    """Write ``text`` whole or not at all (a temporary file renamed)."""
    from s2d_mm.video_analysis.atomic import atomic_write as opener
    with opener(path, newline='') as f:
        f.write(text)


def options_key(opts: dict) -> str:
    """Fingerprint of the options that change a clip."""
    keys = ('detector', 'detect_every', 'max_missed', 'iou_thr', 'smooth',
            'enlarge', 'size', 'num_frames', 'min_frames', 'min_hits',
            'all_tracks', 'dominance', 'quality', 'confirm')
    text = json.dumps({k: opts[k] for k in keys}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def video_key(path: str) -> list:
    try:
        st = os.stat(path)
        return [st.st_size, int(st.st_mtime)]
    except OSError:
        return None


class FaceClipExtractor:
    """Extracts the face clip(s) of one video (one instance per worker
    process: the detector is built once)."""

    def __init__(self, opts: dict):
        from s2d_mm.video_analysis import build_face_detector
        self.opts = opts
        self.detector = build_face_detector(opts['detector'])

    # one video -> report row + clips; never raises for a bad video
    def __call__(self, task: dict) -> dict:
        t0 = time.time()
        row = {k: '' for k in REPORT_COLUMNS}
        row.update(video=task['name'], label=task['label'],
                   subject=task['subject'] or '', status='dropped')
        clips = []
        try:
            clips = self._extract(task, row)
        except _Drop as drop:
            row['reason'], row['detail'] = drop.reason, drop.detail
        except OutputError:
            raise
        except Exception as err:  # decoder errors of every kind
            row['reason'] = 'corrupt'
            row['detail'] = f'{type(err).__name__}: {err}'.splitlines()[0]
        if clips:
            row['status'] = 'kept'
            row['clips'] = ';'.join(c['id'] for c in clips)
            row['frames_kept'] = sum(c['frames'] for c in clips)
        row['seconds'] = round(time.time() - t0, 3)
        return dict(id=task['id'], row=row, clips=clips)

    def _extract(self, task, row):
        from s2d_mm.apis.video_reader import open_video
        from s2d_mm.video_analysis import main_track, track_faces
        o = self.opts
        try:
            reader = open_video(task['video'])
        except FileNotFoundError:
            raise _Drop('corrupt', f'file not found: {task["video"]}')
        except (ValueError, OSError) as err:
            raise _Drop('corrupt', str(err).splitlines()[0])
        with reader:
            n = reader.num_frames
            row['frames_total'] = n
            row['fps'] = round(reader.fps, 3) if reader.fps else ''
            if n < o['min_frames']:
                raise _Drop('too short', f'{n} frames; a clip needs '
                            f'{o["min_frames"]} (--min-frames)')
            # detection, tracking, confirmation (hit share, score, size),
            # re-identification after gaps: s2d_mm.video_analysis; the
            # clip length is judged here, so no length test there
            faces = track_faces(
                reader, self.detector, detect_every=o['detect_every'],
                max_missed=o['max_missed'], iou_thr=o['iou_thr'],
                min_frames=1, min_track_seconds=0., **o['confirm'])
            rounds = len(faces.round_frames)
            row['detection_rounds'] = rounds
            row['hit_rate'] = round(faces.rounds_with_face / rounds, 3)
            # a face is seen in a few rounds (a lone detection is not)
            found = {tid: segs for tid, segs in faces.tracks.items()
                     if sum(len(s.frames) for s in segs) >=
                     min(o['min_hits'], rounds)}
            row['faces'] = len(found)
            if not found:
                why = '; '.join(sorted({d['reason'] for d in faces.dropped}))
                raise _Drop('no face', f'faces detected in '
                            f'{faces.rounds_with_face} of {rounds} detection '
                            'rounds, none tracked' +
                            (f' (tracks dropped: {why})' if why else ''))
            long = {tid: segs for tid, segs in found.items()
                    if _span(segs) >= o['min_frames']}
            if not long:
                span = max(_span(segs) for segs in found.values())
                raise _Drop('too short', f'the face is tracked over {span} '
                            f'frames; a clip needs {o["min_frames"]}')
            main = main_track(_Only(faces, long))
            others = [t for t in long if t != main]
            if not o['all_tracks'] and any(
                    _presence(long[t]) * o['dominance'] >
                    _presence(long[main]) for t in others):
                raise _Drop('several faces', f'{len(long)} faces of '
                            'comparable size and duration; --all-tracks '
                            'writes one clip per face')
            kept = sorted(long) if o['all_tracks'] else [main]
            clips = []
            for k, tid in enumerate(kept):
                cid = f'{task["id"]}_t{k}' if o['all_tracks'] else task['id']
                clips.append(self._write_clip(reader, faces, tid, cid, task))
            segs = long[main]
            in_span = sum(1 for f in faces.round_frames
                          if any(s.first_frame <= f <= s.last_frame
                                 for s in segs))
            row['track_hit_rate'] = round(
                sum(len(s.frames) for s in segs) / max(1, in_span), 3)
            return clips

    def _write_clip(self, reader, faces, tid, cid, task):
        import cv2
        import numpy as np

        from s2d_mm.video_analysis import crop_frame, square_box
        o = self.opts
        # the frames the face is on: its segments (a long absence between
        # two segments of a re-identified face is left out)
        span = np.concatenate([np.arange(s.first_frame, s.last_frame + 1)
                               for s in faces.tracks[tid]])
        if o['num_frames']:
            idx = np.linspace(0, len(span) - 1, o['num_frames'])
            frames = span[np.round(idx).astype(int)]
        else:
            frames = span
        face = faces.boxes(tid, frames, o['smooth'])
        crop = square_box(face, o['enlarge'])
        final = osp.join(o['out_dir'], 'frames', cid)
        partial = final + '.partial'
        shutil.rmtree(partial, ignore_errors=True)
        try:
            os.makedirs(partial)
        except OSError as err:
            raise OutputError(f'cannot create {partial}: {err}') from None
        params = [cv2.IMWRITE_JPEG_QUALITY, o['quality']]
        pos = {}
        for i, f in enumerate(frames.tolist()):
            pos.setdefault(f, []).append(i)
        for f, img in reader.iter_frames(sorted(pos)):
            for i in pos[f]:
                out = crop_frame(img, crop[i], o['size'])
                if not cv2.imwrite(osp.join(partial, f'{i + 1:05d}.jpg'),
                                   out, params):
                    raise OutputError(f'cannot write frames into {partial}')
        if osp.isdir(final):
            shutil.rmtree(final)
        os.replace(partial, final)
        meta = dict(
            clip=cid, video=task['name'], label=task['label'],
            subject=task['subject'], fps=reader.fps,
            size=o['size'], enlarge=o['enlarge'],
            source_frames=frames.tolist(),
            crop_boxes=[[round(float(v), 2) for v in b] for b in crop],
            face_boxes=[[round(float(v), 2) for v in b] for b in face],
            detector=faces.detector, track=faces.track_info(tid))
        try:
            atomic_write(osp.join(o['out_dir'], 'meta', cid + '.json'),
                         json.dumps(meta))
        except OSError as err:
            raise OutputError(f'cannot write the meta file of {cid}: '
                              f'{err}') from None
        return dict(id=cid, label=task['label'], subject=task['subject'],
                    frames=len(frames))


class _Drop(Exception):

    def __init__(self, reason, detail=''):
        assert reason in DROP_REASONS, reason
        super().__init__(f'{reason}: {detail}')
        self.reason, self.detail = reason, detail


def _span(segments) -> int:
    """Frames a face is on (its segments)."""
    return sum(s.num_frames for s in segments)


def _presence(segments) -> float:
    """How much a face is in the video: detection rounds it was found in
    times its median area; a face is the main one when it is larger and
    longer-lasting than the others by --dominance."""
    import numpy as np
    boxes = np.concatenate([np.stack(s.boxes) for s in segments])
    area = np.median((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    return len(boxes) * float(area)


class _Only:
    """A FaceTracks view holding some of its tracks (for main_track)."""

    def __init__(self, faces, tracks):
        self.tracks = tracks


# worker processes hold one extractor each
_EXTRACTOR = None


def _init_worker(opts):
    global _EXTRACTOR
    import cv2
    import torch

    # OpenCV and torch (MTCNN) run single-threaded in a worker; use
    # --workers to occupy the cores. A forked child must not touch the
    # thread pools it inherited: cv2.setNumThreads there waits forever on
    # the parent's pool (the parent turned OpenCV's off before forking, see
    # run_extraction), and an OpenMP parallel region the parent had started
    # hangs too.
    assert cv2.getNumThreads() <= 1, 'fork only with OpenCV threads off'
    torch.set_num_threads(1)
    _EXTRACTOR = FaceClipExtractor(opts)


def _record(task, result, out_dir):
    """Write a video's record (``.state/<id>.json``): last, after its
    clips, so that a record means a finished video."""
    state = dict(version=STATE_VERSION, key=task['key'],
                 video=task['video_key'], **result)
    atomic_write(osp.join(out_dir, '.state', task['id'] + '.json'),
                 json.dumps(state))
    return result


def _die_with_parent(ppid: int) -> None:
    """End this worker when the main process ends, even by SIGKILL: an
    orphan would go on writing clips beside the run that resumes."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # elsewhere: the poll in _worker_loop
    if os.getppid() != ppid:  # it died before prctl
        os._exit(1)


def _next_task(conn, ppid):
    """The next task, None to stop (also when the main process is gone)."""
    while not conn.poll(1.0):
        if os.getppid() != ppid:
            return None
    try:
        return conn.recv()
    except EOFError:
        return None


def _worker_loop(opts, conn, parent_end, ppid):
    """A worker process: tasks in, results out, over its own pipe."""
    parent_end.close()
    _die_with_parent(ppid)
    _init_worker(opts)
    for task in iter(lambda: _next_task(conn, ppid), None):
        try:
            conn.send(_record(task, _EXTRACTOR(task), opts['out_dir']))
        except (OutputError, OSError) as err:  # the output, not the video
            conn.send(dict(fatal=f'{type(err).__name__}: {err}'))
            return


def _crashed(task, exitcode) -> dict:
    """The result of a video whose worker died (a decoder crash)."""
    row = {k: '' for k in REPORT_COLUMNS}
    row.update(video=task['name'], label=task['label'],
               subject=task['subject'] or '', status='dropped',
               reason='corrupt', detail=f'the worker decoding it died '
               f'(exit code {exitcode})')
    return dict(id=task['id'], row=row, clips=[])


def run_extraction(todo, opts, workers):
    """Results of ``todo`` as they come, from ``workers`` forked worker
    processes (forked: nothing but task and result dicts is pickled, the
    tool being a script). Each worker gets one video at a time over its own
    pipe, so a worker that dies (a decoder crash) costs only the video it
    held, recorded as ``corrupt``; a new worker takes its place."""
    import multiprocessing
    from collections import deque
    from multiprocessing.connection import wait
    ctx = multiprocessing.get_context('fork')
    pending = deque(todo)
    busy = {}  # parent end of a worker's pipe -> [process, task]

    def start_and_feed():
        if not pending:
            return
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_loop,
                           args=(opts, child, conn, os.getpid()),
                           daemon=True)
        proc.start()
        child.close()
        task = pending.popleft()
        conn.send(task)
        busy[conn] = [proc, task]

    # A forked child inherits OpenCV's thread pool without its threads and
    # hangs in it (seen in cv2.setNumThreads): no pool may run in this
    # process while it forks. Restored when the workers are done.
    import cv2
    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(0)
    for _ in range(min(workers, len(todo))):
        start_and_feed()
    try:
        while busy:
            ready = wait(list(busy) + [p.sentinel for p, _ in busy.values()])
            for conn in list(busy):
                proc, task = busy[conn]
                result = None
                if conn in ready:
                    try:
                        result = conn.recv()
                    except EOFError:
                        pass
                elif proc.sentinel not in ready:
                    continue
                if result is None:  # the worker died on this video
                    proc.join()
                    del busy[conn]
                    conn.close()
                    yield _record(task, _crashed(task, proc.exitcode),
                                  opts['out_dir'])
                    start_and_feed()
                    continue
                if 'fatal' in result:
                    raise OutputError(result['fatal'])
                yield result
                nxt = pending.popleft() if pending else None
                try:
                    conn.send(nxt)
                    if nxt is not None:
                        busy[conn][1] = nxt
                        continue
                except OSError:  # it died between two videos
                    if nxt is not None:
                        pending.appendleft(nxt)
                proc.join()
                del busy[conn]
                conn.close()
                if pending and len(busy) < workers:
                    start_and_feed()
    finally:
        for proc, _ in busy.values():
            if proc.is_alive():
                proc.terminate()
        cv2.setNumThreads(cv2_threads)


# ------------------------------------------------------------ bookkeeping
def load_finished(task: dict, out_dir: str):
    """The recorded result of a task if it is complete and current."""
    path = osp.join(out_dir, '.state', task['id'] + '.json')
    try:
        with open(path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    if state.get('version') != STATE_VERSION or \
            state.get('key') != task['key'] or \
            state.get('video') != task['video_key']:
        return None
    for clip in state['clips']:
        folder = osp.join(out_dir, 'frames', clip['id'])
        if not osp.isdir(folder) or len(os.listdir(folder)) != clip['frames']:
            return None
    return state


def write_outputs(out_dir, tasks, results):
    """Annotation (kept clips, input order) and report (every video)."""
    with_subject = any(t['subject'] is not None for t in tasks)
    ann = ['path,label,subject' if with_subject else 'path,label']
    report = [','.join(REPORT_COLUMNS)]
    for t in tasks:
        res = results[t['id']]
        for clip in res['clips']:
            fields = [clip['id'], clip['label']] + (
                [clip['subject'] or ''] if with_subject else [])
            ann.append(_csv_line(fields))
        report.append(_csv_line([res['row'][k] for k in REPORT_COLUMNS]))
    atomic_write(osp.join(out_dir, 'annotations.csv'), '\n'.join(ann) + '\n')
    atomic_write(osp.join(out_dir, 'extract_report.csv'),
                 '\n'.join(report) + '\n')


def _csv_line(fields) -> str:
    import io
    buf = io.StringIO()
    csv.writer(buf, lineterminator='').writerow(fields)
    return buf.getvalue()


def parse_args(argv=None):
    from s2d_mm.video_analysis.face_search_args import (
        add_face_search_args, check_face_search_args)
    p = argparse.ArgumentParser(
        description='Raw labelled videos -> aligned face clips (DFEW frame '
        'layout), an annotation file and a report.')
    p.add_argument('src', help='CSV path,label[,subject] or a folder '
                   '<root>/<label>/**/<video>')
    p.add_argument('out_dir', help='output folder')
    p.add_argument('--video-root', help='folder the CSV paths are relative '
                   'to (default: the CSV\'s folder)')
    p.add_argument('--subject-regex', help='regular expression on the file '
                   'name giving the subject (group 1 or (?P<subject>...)) '
                   'for inputs without a subject column')
    p.add_argument('--classes', help='comma-separated class list: refuse '
                   'labels outside it before extracting')
    p.add_argument('--workers', type=int, default=1,
                   help='parallel processes (default 1)')
    # the detector, tracker and crop options of tools/analyze_video.py: cut
    # the dataset with those of inference
    add_face_search_args(p)
    p.add_argument('--smooth', type=int, default=2,
                   help='average a track\'s boxes over 2N+1 detections')
    p.add_argument('--size', type=int, default=224, help='crop side (px)')
    p.add_argument('--num-frames', type=int, default=0,
                   help='resample every clip to N evenly spaced frames '
                   '(default 0: keep every frame, the source rate)')
    p.add_argument('--min-frames', type=int, default=16,
                   help='shortest face track (frames) kept (default 16, '
                   'one training clip)')
    p.add_argument('--min-hits', type=int, default=3,
                   help='detection rounds a face needs to count')
    p.add_argument('--min-face', type=float, default=0.05,
                   help='smallest median face side, as a fraction of the '
                   "frame's shorter side")
    p.add_argument('--all-tracks', action='store_true',
                   help='one clip per face instead of the main face')
    p.add_argument('--dominance', type=float, default=2.0,
                   help='without --all-tracks, the main face must be this '
                   'many times as present (rounds x area) as the next one, '
                   'else the video is dropped as "several faces"')
    p.add_argument('--quality', type=int, default=95, help='JPEG quality')
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    check_face_search_args(p, args)
    for name in ('workers', 'size', 'min_frames', 'min_hits'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.num_frames < 0:
        p.error('--num-frames must be >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.utils import ProgressBar

    from s2d_mm.video_analysis import FaceDetectorSetupError
    try:
        tasks = read_inputs(args.src, args.video_root, args.subject_regex)
    except InputError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.classes:
        classes = [c.strip() for c in args.classes.split(',') if c.strip()]
        lowered = [c.lower() for c in classes]
        for t in tasks:
            if t['label'].lower() not in lowered:
                where = f'{args.src}, line {t["line"]}' if t['line'] else \
                    t['name']
                print(f'error: {where}: label {t["label"]!r} is not one of '
                      f'--classes {",".join(classes)}', file=sys.stderr)
                return 2
    from s2d_mm.video_analysis.face_search_args import face_detector_cfg
    detector = face_detector_cfg(args)
    opts = dict(detector=detector, detect_every=args.detect_every,
                max_missed=args.max_missed, iou_thr=args.iou_thr,
                smooth=args.smooth, enlarge=args.enlarge, size=args.size,
                num_frames=args.num_frames, min_frames=args.min_frames,
                min_hits=args.min_hits, all_tracks=args.all_tracks,
                confirm=dict(min_hit_share=args.min_hit_share,
                             min_score=args.min_score,
                             min_size=args.min_face,
                             reid_gap_seconds=args.reid_gap),
                dominance=args.dominance, quality=args.quality,
                workers=args.workers,
                out_dir=osp.abspath(args.out_dir))
    try:  # a detector that cannot be set up stops here, not per video
        FaceClipExtractor(opts)
    except FaceDetectorSetupError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    out = opts['out_dir']
    for sub in ('frames', 'meta', '.state'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    # half-written clips of an interrupted run
    for name in os.listdir(osp.join(out, 'frames')):
        if name.endswith('.partial'):
            shutil.rmtree(osp.join(out, 'frames', name), ignore_errors=True)
    key = options_key(opts)
    results, todo = {}, []
    for t in tasks:
        t['key'], t['video_key'] = key, video_key(t['video'])
        state = load_finished(t, out)
        if state is None:
            todo.append(t)
        else:
            results[t['id']] = state
    print(f'{len(tasks)} videos: {len(results)} already done, '
          f'{len(todo)} to extract ({args.workers} worker(s))')
    t0 = time.time()
    if todo:
        workers = min(args.workers, len(todo))
        bar = None if args.no_progress else ProgressBar(len(todo))
        try:
            for res in run_extraction(todo, opts, workers):
                results[res['id']] = res
                if bar is not None:
                    bar.update()
        except OutputError as err:
            print(f'\nerror: {err}; the finished videos are recorded: '
                  'rerun the same command to resume', file=sys.stderr)
            return 1
        if bar is not None:
            sys.stdout.write('\n')
    wall = time.time() - t0
    write_outputs(out, tasks, results)
    rows = [results[t['id']]['row'] for t in tasks]
    done_rows = [results[t['id']]['row'] for t in todo]
    frames = sum(int(r['frames_total'] or 0) for r in done_rows)
    kept = [r for r in rows if r['status'] == 'kept']
    drops = {}
    for r in rows:
        if r['status'] != 'kept':
            drops.setdefault(r['reason'], []).append(r['video'])
    summary = dict(
        videos=len(tasks), kept_videos=len(kept),
        clips=sum(len(results[t['id']]['clips']) for t in tasks),
        frames_kept=sum(int(r['frames_kept'] or 0) for r in kept),
        dropped={k: v for k, v in sorted(drops.items())},
        extracted_now=len(todo), skipped_done=len(tasks) - len(todo),
        workers=args.workers, wall_s=round(wall, 2),
        videos_per_min=round(60 * len(todo) / wall, 2) if todo else None,
        source_frames_per_s=round(frames / wall, 1) if todo else None,
        options={k: v for k, v in opts.items() if k != 'out_dir'})
    from s2d_mm.utils.machine import describe_machine, format_machine
    machine = describe_machine()
    summary['machine'] = machine
    atomic_write(osp.join(out, 'extract_summary.json'),
                 json.dumps(summary, indent=1))
    print(f'kept {len(kept)} of {len(tasks)} videos '
          f'({summary["clips"]} clips, {summary["frames_kept"]} frames) '
          f'-> {osp.join(out, "annotations.csv")}')
    for reason, names in summary['dropped'].items():
        print(f'dropped ({reason}): {", ".join(names)}')
    if todo:
        print(f'{len(todo)} videos in {wall:.1f} s: '
              f'{summary["videos_per_min"]} videos/min, '
              f'{summary["source_frames_per_s"]} source frames/s '
              f'({args.workers} worker(s))')
        print('machine: ' + '; '.join(format_machine(machine)[:2]))
    print(f'report: {osp.join(out, "extract_report.csv")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
