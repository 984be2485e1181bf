"""Own labelled videos end to end (issue 22): raw videos ->
tools/data/extract_faces.py -> tools/data/make_folds.py -> 1-epoch
fine-tune of the tiny S2D with configs/s2d_custom.py -> tools/test.py ->
tools/analysis/aggregate_folds.py --folds."""
import csv
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from s2d_testing import tiny_model_cfg
from s2d_testing.raw_videos import make_raw_video_set

from .conftest import REPO, load_tool

# Haar at a coarser pyramid step, every 3rd frame: the faces of the set are
# 64-90 px, found as well as by the default MTCNN and many times faster
FAST = ['--detector', 'haar', '--detect-every', '3', '--det-options',
        'scale_factor=1.2']


def _read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def raw_set(tmp_path_factory):
    return make_raw_video_set(str(tmp_path_factory.mktemp('raw')))


@pytest.fixture(scope='module')
def extracted(raw_set, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('faces'))
    extract = load_tool('data/extract_faces')
    # OpenCV's thread pool running in this process, as after any earlier
    # test that used it: forked workers that touched it used to hang
    import cv2
    import numpy as np
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    cv2.GaussianBlur(np.zeros((1024, 1024, 3), np.uint8), (31, 31), 5)
    try:
        assert extract.main([raw_set['csv'], out, '--workers', '2']
                            + FAST) == 0
        assert cv2.getNumThreads() == 2  # given back after the workers
    finally:
        cv2.setNumThreads(before)
    return out


def test_report_names_every_drop(raw_set, extracted):
    report = {osp.splitext(osp.basename(r['video']))[0]: r
              for r in _read_csv(osp.join(extracted, 'extract_report.csv'))}
    assert set(report) == set(raw_set['videos'])
    for name, row in report.items():
        if name in raw_set['drops']:
            assert row['status'] == 'dropped', name
            assert row['reason'] == raw_set['drops'][name], (name, row)
            assert row['clips'] == '' and row['detail']
        else:
            assert row['status'] == 'kept', (name, row)
            assert row['reason'] == ''
            # the face is in every frame: the whole video is kept
            assert int(row['frames_kept']) == int(row['frames_total']) == \
                len(raw_set['boxes'][name])
            assert float(row['hit_rate']) == 1.0
            assert float(row['fps']) == pytest.approx(raw_set['fps'][name])
    assert report['s1_Happy']['faces'] == '2'  # the small face, not kept
    assert report['s5_Sad_no_face']['hit_rate'] == '0.0'
    ann = _read_csv(osp.join(extracted, 'annotations.csv'))
    kept = [n for n in raw_set['videos'] if n not in raw_set['drops']]
    assert [a['path'] for a in ann] == [f'videos__{n}' for n in kept]
    assert [(a['label'], a['subject']) for a in ann] == [
        (raw_set['labels'][n], raw_set['subjects'][n]) for n in kept]
    summary = json.load(open(osp.join(extracted, 'extract_summary.json')))
    assert summary['dropped'] == {
        reason: [osp.relpath(raw_set['videos'][n], osp.dirname(
            raw_set['csv'])) for n, r in raw_set['drops'].items()
            if r == reason] for reason in set(raw_set['drops'].values())}


def _check_crop(img, crop_box, face_box, src_frame, ratio=1 / 1.3):
    """The crop holds the known face: the face box is inside the crop box,
    centred, ``ratio`` of its side, and the pixels are the source's there."""
    x1, y1, x2, y2 = crop_box
    side = x2 - x1
    assert img.shape == (224, 224, 3)
    assert y2 - y1 == pytest.approx(side, abs=0.05)
    fx1, fy1, fx2, fy2 = face_box
    tol = 0.04 * side
    assert fx1 >= x1 - tol and fy1 >= y1 - tol
    assert fx2 <= x2 + tol and fy2 <= y2 + tol
    centre = np.array([(fx1 + fx2) / 2 - (x1 + x2) / 2,
                       (fy1 + fy2) / 2 - (y1 + y2) / 2])
    # the track's box average lags a moving face by up to ~1 detection
    # interval at the clip's ends: off-centre by < 10 % of the crop
    assert np.abs(centre).max() < 0.1 * side
    assert (fx2 - fx1) / side == pytest.approx(ratio, abs=0.08)
    # the face region of the crop is the known face of the source frame
    s = 224 / side
    ix1, iy1 = int((fx1 - x1) * s) + 8, int((fy1 - y1) * s) + 8
    ix2, iy2 = int((fx2 - x1) * s) - 8, int((fy2 - y1) * s) - 8
    crop_face = img[iy1:iy2, ix1:ix2].astype(np.float32)
    src = cv2.resize(
        src_frame[int(fy1):int(fy2), int(fx1):int(fx2)],
        (int((fx2 - fx1) * s), int((fy2 - fy1) * s)),
        interpolation=cv2.INTER_AREA)[8:8 + iy2 - iy1, 8:8 + ix2 - ix1]
    a = crop_face - crop_face.mean()
    b = src.astype(np.float32) - src.mean()
    assert (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()) > 0.8


def test_crops_contain_the_face(raw_set, extracted):
    from s2d_mm.apis import open_video
    ann = _read_csv(osp.join(extracted, 'annotations.csv'))
    for row in ann:
        name = row['path'][len('videos__'):]
        meta = json.load(open(osp.join(extracted, 'meta',
                                       row['path'] + '.json')))
        frames = sorted(os.listdir(osp.join(extracted, 'frames',
                                            row['path'])))
        assert frames == [f'{i + 1:05d}.jpg'
                          for i in range(len(meta['source_frames']))]
        truth = raw_set['boxes'][name][:, 0]  # the labelled face
        src = open_video(raw_set['videos'][name])
        for i in (0, len(frames) // 2, len(frames) - 1):
            f = meta['source_frames'][i]
            img = cv2.imread(osp.join(extracted, 'frames', row['path'],
                                      frames[i]))
            _check_crop(img, meta['crop_boxes'][i], truth[f],
                        src.read([f])[0])


def test_default_detector(raw_set, tmp_path):
    """MTCNN (the default) on a moving face: its boxes run from brow to
    chin, taller than the known (Haar-like) box, so the crop is larger
    (1.3 x 107 / 95 on the astronaut photo: the face fills ~0.68 of it)."""
    from s2d_mm.apis import open_video
    extract = load_tool('data/extract_faces')
    src = tmp_path / 'one.csv'
    src.write_text(f'{raw_set["videos"]["s2_Happy"]},Happy,s2\n')
    out = str(tmp_path / 'out')
    assert extract.main([str(src), out, '--no-progress']) == 0
    meta = json.load(open(osp.join(out, 'meta', 's2_Happy.json')))
    assert meta['detector'] == 'MTCNNFaceDetector'
    truth = raw_set['boxes']['s2_Happy'][:, 0]
    reader = open_video(raw_set['videos']['s2_Happy'])
    for i in (0, len(meta['source_frames']) - 1):
        f = meta['source_frames'][i]
        img = cv2.imread(osp.join(out, 'frames', 's2_Happy', f'{i + 1:05d}.jpg'))
        _check_crop(img, meta['crop_boxes'][i], truth[f],
                    reader.read([f])[0], ratio=0.68)


def test_all_tracks_writes_each_face(raw_set, tmp_path):
    extract = load_tool('data/extract_faces')
    src = tmp_path / 'two.csv'
    src.write_text('path,label,subject\n'
                   f'{raw_set["videos"]["s5_Happy_two_faces"]},Happy,s5\n')
    out = str(tmp_path / 'out')
    assert extract.main([str(src), out, '--all-tracks', '--no-progress'] +
                        FAST) == 0
    ann = _read_csv(osp.join(out, 'annotations.csv'))
    assert len(ann) == 2
    truth = raw_set['boxes']['s5_Happy_two_faces']
    for k, row in enumerate(ann):
        assert row['path'].endswith(f'_t{k}')
        meta = json.load(open(osp.join(out, 'meta', row['path'] + '.json')))
        f = meta['source_frames'][0]
        box = np.array(meta['face_boxes'][0])
        # track k (numbered left to right) follows face k
        assert np.abs(box - truth[f, k]).max() < 0.1 * (box[2] - box[0])


def _children_of(pid, out):
    """Live processes of the extraction into ``out`` other than ``pid``
    (its forked workers share its command line)."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if fields[0] != 'Z' and b'extract_faces.py' in cmd and \
                out.encode() in cmd and int(entry) != pid:
            found.append(int(entry))
    return found


def test_killed_extraction_resumes(raw_set, extracted, tmp_path):
    """SIGKILL in the middle, then a rerun: finished videos are skipped,
    the rest is extracted, the outputs equal an uninterrupted run's."""
    out = str(tmp_path / 'faces')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'data', 'extract_faces.py'),
           raw_set['csv'], out, '--workers', '1', '--no-progress'] + FAST
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = osp.join(out, '.state')
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if osp.isdir(state) and len(os.listdir(state)) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, 'extraction ended before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # its worker process ends with it (no orphan writing on)
    deadline = time.time() + 10
    while time.time() < deadline and _children_of(proc.pid, out):
        time.sleep(0.1)
    assert not _children_of(proc.pid, out)
    done = len([n for n in os.listdir(state) if n.endswith('.json')])
    assert 2 <= done < len(raw_set['videos'])
    assert not osp.exists(osp.join(out, 'annotations.csv'))
    # and a half-written clip: its record lost, frames cut, a stray .partial
    first = sorted(os.listdir(state))[0][:-len('.json')]
    os.remove(osp.join(state, first + '.json'))
    clip_dir = osp.join(out, 'frames', first)
    for name in sorted(os.listdir(clip_dir))[5:]:
        os.remove(osp.join(clip_dir, name))
    os.makedirs(osp.join(out, 'frames', 'videos__s4_Sad.partial'))
    kept_mtime = {
        n[:-5]: os.stat(osp.join(state, n)).st_mtime_ns
        for n in os.listdir(state)}

    extract = load_tool('data/extract_faces')
    assert extract.main([raw_set['csv'], out, '--no-progress'] + FAST) == 0
    for n, mtime in kept_mtime.items():  # not redone
        assert os.stat(osp.join(state, n + '.json')).st_mtime_ns == mtime
    assert not osp.exists(osp.join(out, 'frames', 'videos__s4_Sad.partial'))
    for name in ('annotations.csv', 'extract_report.csv'):
        ours, ref = _read_csv(osp.join(out, name)), _read_csv(
            osp.join(extracted, name))
        for row in ours + ref:
            row.pop('seconds', None)
        assert ours == ref, name
    for row in _read_csv(osp.join(out, 'annotations.csv')):
        assert sorted(os.listdir(osp.join(out, 'frames', row['path']))) == \
            sorted(os.listdir(osp.join(extracted, 'frames', row['path'])))
    # a third run has nothing left to do
    summary = json.load(open(osp.join(out, 'extract_summary.json')))
    assert summary['extracted_now'] == len(raw_set['videos']) - \
        len(kept_mtime)
    assert extract.main([raw_set['csv'], out, '--no-progress'] + FAST) == 0
    summary = json.load(open(osp.join(out, 'extract_summary.json')))
    assert summary['extracted_now'] == 0


TINY_CFG = osp.join(REPO, 'configs', 'demo', 's2d_custom_tiny.py')


def test_custom_config_reads_the_clips(extracted):
    """configs/s2d_custom.py: the class list sets the head and reaches
    both datasets, which read the extracted clips."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, DefaultScope

    from s2d_mm.engine import load_experiment_config
    cfg = load_experiment_config(
        osp.join(REPO, 'configs', 's2d_custom.py'),
        dict(data_root=extracted, fold=2))
    assert cfg.model.cls_head.num_classes == len(cfg.classes) == 7
    assert cfg.default_hooks.strict_load.allow_head_mismatch
    assert cfg.load_from.endswith('s2d_dfew_converted.pth')
    image = Config.fromfile(osp.join(REPO, 'configs',
                                     's2d_custom_from_image.py'))
    assert image.load_from is None
    assert image.model.backbone.init_cfg.type == 'ImageStageInit'
    ann = osp.join(extracted, 'annotations.csv')
    with DefaultScope.overwrite_default_scope('mmaction'):
        for loader in (cfg.train_dataloader, cfg.test_dataloader):
            ds = DATASETS.build(dict(loader.dataset, ann_file=ann, fold=None))
            assert ds.classes == cfg.classes
            assert len(ds) == 8
            assert {ds.get_data_info(i)['label'] for i in range(8)} == {0, 1}


def test_folds_finetune_test_aggregate(extracted, tmp_path, monkeypatch,
                                       capsys):
    import torch
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    from s2d_mm.utils.checkpoint import load_checkpoint_file
    monkeypatch.chdir(tmp_path)
    # folds by subject
    folds = load_tool('data/make_folds')
    assert folds.main([osp.join(extracted, 'annotations.csv'),
                       osp.join(extracted, 'folds'), '--k', '2', '--seed',
                       '0', '--classes', 'Happy,Sad']) == 0
    printed = capsys.readouterr().out
    assert '| fold | test subjects | Happy test/train | Sad test/train |' \
        in printed
    record = json.load(open(osp.join(extracted, 'folds', 'folds.json')))
    assert sorted(s for f in record['folds'] for s in f['test_subjects']) \
        == ['s1', 's2', 's3', 's4']
    for f in record['folds']:
        assert f['test_counts'] == {'Happy': 2, 'Sad': 2}
        assert not set(f['test_subjects']) & set(f['train_subjects'])
    # a "released DFEW" tiny checkpoint: 7 classes, fine-tuned to 2
    init_default_scope('mmaction')
    torch.manual_seed(0)
    dfew = MODELS.build(tiny_model_cfg(num_classes=7, sdl=False))
    torch.save(dict(state_dict=dfew.state_dict(), meta=dict()),
               'tiny_dfew.pth')
    cfg = TINY_CFG  # the README's commands
    opts = [f'data_root={extracted}']
    train, test = load_tool('train'), load_tool('test')
    metrics = {}
    for k in (1, 2):
        runner = train.main([cfg, '--cfg-options', f'fold={k}',
                             f'load_from={tmp_path / "tiny_dfew.pth"}'] +
                            opts)
        ds = runner.train_dataloader.dataset
        assert ds.ann_file.endswith(f'folds/train_{k}.csv')
        assert ds.classes == ('Happy', 'Sad')
        train_subjects = {ds.get_data_info(i)['subject']
                          for i in range(len(ds))}
        assert train_subjects == set(record['folds'][k - 1]
                                     ['train_subjects'])
        assert runner.model.cls_head.fc_cls.weight.shape[0] == 2
        # the backbone came from the checkpoint, the 2-class head is new
        ckpt = load_checkpoint_file(
            f'work_dirs/s2d_custom_tiny/fold{k}/epoch_1.pth')['state_dict']
        assert ckpt['cls_head.fc_cls.weight'].shape[0] == 2
        # frozen ViT weights: still the loaded checkpoint's
        for key in ('backbone.patch_embed.projection.weight',
                    'backbone.layers.0.attn.qkv.weight'):
            assert torch.equal(ckpt[key], dfew.state_dict()[key]), key
        metrics[k] = test.main([
            cfg, f'work_dirs/s2d_custom_tiny/fold{k}/epoch_1.pth',
            '--out-dir', f'results/fold{k}', '--cfg-options', f'fold={k}'] +
            opts)
    capsys.readouterr()
    aggregate = load_tool('analysis/aggregate_folds')
    folds_json = osp.join(extracted, 'folds', 'folds.json')
    assert aggregate.main(['results', '--expect', '2', '--folds',
                           folds_json]) == 0
    table = capsys.readouterr().out
    uar = (metrics[1]['UAR'] + metrics[2]['UAR']) / 2
    assert f'**{uar:.2f}**' in table
    for f in record['folds']:
        assert f'| {", ".join(f["test_subjects"])} | 4 |' in table
    # a subject leak in a fold file is refused, naming the subject
    leaked = osp.join(extracted, 'folds', 'train_1.csv')
    backup = leaked + '.bak'
    shutil.copy(leaked, backup)
    try:
        subj = record['folds'][0]['test_subjects'][0]
        with open(leaked, 'a') as f:
            f.write(f'videos__{subj}_Happy,Happy,{subj}\n')
        assert aggregate.main(['results', '--folds', folds_json]) == 1
        assert f'subject(s) {subj} in both train_1.csv and test_1.csv' in \
            capsys.readouterr().err
    finally:
        shutil.move(backup, leaked)


def test_a_crashing_decoder_costs_only_its_video(raw_set, tmp_path,
                                                 monkeypatch):
    """A worker process that dies on a video (as a decoder segfault would)
    is replaced; the video is reported as corrupt, the batch goes on."""
    extract = load_tool('data/extract_faces')
    call = extract.FaceClipExtractor.__call__

    def crash_on_one(self, task):
        if task['id'] == 's2_Sad':  # absolute paths: ids from the names
            os._exit(139)
        return call(self, task)

    monkeypatch.setattr(extract.FaceClipExtractor, '__call__', crash_on_one)
    src = tmp_path / 'three.csv'
    names = ('s1_Sad', 's2_Sad', 's3_Sad')
    src.write_text('path,label,subject\n' + ''.join(
        f'{raw_set["videos"][n]},Sad,{n[:2]}\n' for n in names))
    out = str(tmp_path / 'out')
    assert extract.main([str(src), out, '--no-progress'] + FAST) == 0
    report = _read_csv(osp.join(out, 'extract_report.csv'))
    assert [r['status'] for r in report] == ['kept', 'dropped', 'kept']
    assert report[1]['reason'] == 'corrupt'
    assert 'the worker decoding it died (exit code 139)' in \
        report[1]['detail']
