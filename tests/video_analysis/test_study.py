"""Studies: folders / globs / list files in, one folder per video and a
summary out; every status reported, resumable after a kill, and sharded over
processes (gloo) with the same rows as one process."""
import csv
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
from s2d_testing import load_script

from s2d_mm.video_analysis import analyze_video
from s2d_mm.video_analysis.study import analyze_study, collect_videos, output_names


@pytest.fixture(scope='module')
def study(tmp_path_factory, face_videos):
    """good_a (2 s, two faces), good_b (1.6 s, a face gap), corrupt (text),
    truncated (the first 3 KB of a video), blank (no face)."""
    root = tmp_path_factory.mktemp('study')
    good = face_videos.write_video(root / 'good_a.mp4',
                                   face_videos.frames(50))
    face_videos.write_video(root / 'good_b.mp4',
                            face_videos.frames(40, gaps=[(36, 40)]))
    (root / 'corrupt.mp4').write_text('not a video\n')
    (root / 'truncated.mp4').write_bytes(open(good, 'rb').read()[:3000])
    face_videos.write_video(root / 'blank.mp4',
                            [np.full((120, 160, 3), 90, np.uint8)] * 20)
    (root / 'notes.md').write_text('not a video either: skipped\n')
    return root


def _read(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def _status(rows):
    return {r['name']: r['status'] for r in rows}


def test_collect_videos(study, tmp_path):
    names = ['blank', 'corrupt', 'good_a', 'good_b', 'truncated']
    folder = collect_videos([str(study)])
    assert [osp.splitext(osp.basename(v))[0] for v in folder] == names
    assert collect_videos([str(study / 'good_*.mp4')]) == folder[2:4]
    lst = tmp_path / 'videos.txt'
    lst.write_text(f'# my study\n{study}/good_b.mp4\n\n'
                   f'{osp.relpath(study / "blank.mp4", tmp_path)}  # rel\n')
    assert collect_videos([str(lst)]) == [str(study / 'good_b.mp4'),
                                          str(tmp_path / osp.relpath(
                                              study / 'blank.mp4', tmp_path))]
    with pytest.raises(ValueError, match=r"no file matches .*nope\*"):
        collect_videos([str(study / 'nope*.mp4')])
    with pytest.raises(ValueError, match='video not found: .*gone.mp4'):
        collect_videos([str(study / 'gone.mp4')])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no video or frame folder in'):
        collect_videos([str(empty)])
    assert output_names(['a/x.mp4', 'b/x.mp4', 'c/y.mp4'])[2] == 'y'
    assert len(set(output_names(['a/x.mp4', 'b/x.mp4']))) == 2


def test_folder_gives_a_summary_with_each_status(tiny_s2d, study, tmp_path,
                                                  capsys):
    cfg, ckpt, _ = tiny_s2d
    out = tmp_path / 'out'
    tool = load_script('tools', 'analyze_video.py')
    rc = tool.main([cfg, ckpt, str(study), '--out-dir', str(out),
                    '--no-progress', '--device', 'cpu'])
    assert rc == 1  # some videos failed, the batch went on
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(e.startswith('error: ') for e in err)
    rows = _read(out / 'summary.csv')
    assert _status(rows) == dict(good_a='ok', good_b='ok', blank='no_face',
                                 corrupt='unreadable', truncated='unreadable')
    good = [r for r in rows if r['name'] == 'good_a']
    assert [r['track_id'] for r in good] == ['0', '1']
    assert good[0]['num_tracks'] == '2' and good[0]['duration_s'] == '2.0'
    # the mean probabilities are the means of the video's timeline rows
    tl = _read(out / 'good_a' / 'timeline.csv')
    classes = [c[5:] for c in rows[0] if c.startswith('mean_')]
    for r in good:
        mine = [t for t in tl if t['track_id'] == r['track_id']]
        assert int(r['track_windows']) == len(mine)
        for c in classes:
            assert float(r[f'mean_{c}']) == pytest.approx(
                np.mean([float(t[c]) for t in mine]), abs=2e-6)
    assert 'no face found' in [r for r in rows
                               if r['name'] == 'blank'][0]['message']
    assert sorted(os.listdir(out)) == sorted(
        ['summary.csv', 'good_a', 'good_b', 'blank', 'corrupt', 'truncated'])


def test_killed_batch_resumes_without_redoing(tiny_s2d, study, tmp_path):
    model = tiny_s2d[2]
    videos = collect_videos([str(study / 'good_*.mp4'),
                             str(study / 'blank.mp4')])
    out = str(tmp_path / 'out')
    seen = []

    def analyze(video):
        seen.append(osp.basename(video))
        return analyze_video(model, video)

    def killed_while_writing(timeline, folder, name):
        open(osp.join(folder, 'timeline.csv'), 'w').write('half')
        if name == 'good_b':
            raise KeyboardInterrupt  # the process dies mid-write

    with pytest.raises(KeyboardInterrupt):
        analyze_study(analyze, videos, out, ['c'], write=killed_while_writing)
    assert seen == ['good_a.mp4', 'good_b.mp4']
    # good_a finished; good_b left only a hidden temporary folder
    assert sorted(os.listdir(out)) == ['.good_b.tmp-%d' % os.getpid(),
                                       'good_a']
    seen.clear()
    result = analyze_study(analyze, videos, out, ['c'],
                           log_error=lambda line: None)
    assert seen == ['good_b.mp4', 'blank.mp4']
    assert result['skipped'] == ['good_a'] and result['done'] == ['good_b']
    assert result['failed'] == ['blank']
    assert sorted(os.listdir(out)) == ['blank', 'good_a', 'good_b',
                                       'summary.csv']
    assert _status(_read(result['summary'])) == dict(
        good_a='ok', good_b='ok', blank='no_face')
    # a third run redoes nothing
    seen.clear()
    again = analyze_study(analyze, videos, out, ['c'],
                          log_error=lambda line: None)
    assert seen == [] and again['failed'] == ['blank']


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_give_the_rows_of_one(tiny_s2d, study, tmp_path,
                                            repo_root):
    cfg, ckpt, _ = tiny_s2d
    videos = [str(study / n) for n in ('good_a.mp4', 'blank.mp4',
                                       'good_b.mp4')]
    lst = tmp_path / 'videos.txt'
    lst.write_text('\n'.join(videos) + '\n')
    one = tmp_path / 'one'
    tool = load_script('tools', 'analyze_video.py')
    assert tool.main([cfg, ckpt, str(lst), '--out-dir', str(one),
                      '--no-progress', '--device', 'cpu']) == 1
    two = tmp_path / 'two'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(_free_port()))
    proc = subprocess.run(
        ['bash', osp.join(repo_root, 'tools', 'dist_analyze.sh'), cfg, ckpt,
         str(lst), '2', '--out-dir', str(two), '--no-progress', '--device',
         'cpu'], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout + proc.stderr  # blank failed
    assert '3 video(s): 1 no_face, 2 ok' in proc.stdout
    rows1, rows2 = _read(one / 'summary.csv'), _read(two / 'summary.csv')
    assert [r['video'] for r in rows2] == [r['video'] for r in rows1]
    for a, b in zip(rows1, rows2):
        for k in a:
            if k.startswith('mean_') and a[k]:
                assert float(a[k]) == pytest.approx(float(b[k]), abs=1e-5)
            else:
                assert a[k] == b[k], k
    # each shard wrote its own summary; the videos alternate
    assert _status(_read(two / 'summary.rank0.csv')) == dict(good_a='ok',
                                                             good_b='ok')
    assert _status(_read(two / 'summary.rank1.csv')) == dict(blank='no_face')
    for name in ('good_a', 'good_b'):
        t1 = _read(one / name / 'timeline.csv')
        t2 = _read(two / name / 'timeline.csv')
        assert [r['frame_start'] for r in t1] == [r['frame_start']
                                                  for r in t2]
        assert [r['top_class'] for r in t1] == [r['top_class'] for r in t2]


def test_dist_script_prints_its_usage(repo_root):
    proc = subprocess.run(['bash', osp.join(repo_root, 'tools',
                                            'dist_analyze.sh')],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith('usage: bash tools/dist_analyze.sh CONFIG')
