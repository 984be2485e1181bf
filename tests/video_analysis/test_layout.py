"""s2d_mm.video_analysis builds on s2d_mm.apis; its face detectors have their
own registry."""
import subprocess
import sys

from mmaction.registry import MODELS

from s2d_mm.registry import FACE_DETECTORS
from s2d_mm.video_analysis import HaarFaceDetector, build_face_detector


def test_detectors_in_their_own_registry():
    for name in ('HaarFaceDetector', 'YuNetFaceDetector', 'MMDetFaceDetector'):
        assert FACE_DETECTORS.get(name) is not None
        assert name not in MODELS.module_dict
    assert isinstance(build_face_detector(dict(type='HaarFaceDetector')),
                      HaarFaceDetector)


def test_either_package_imports_first(repo_root):
    # s2d_mm.apis.inference imports the face crop of s2d_mm.video_analysis,
    # whose timeline imports s2d_mm.apis: both orders must work (the test
    # process itself imported s2d_mm.apis first)
    code = ('import s2d_mm.video_analysis as va; import s2d_mm.apis as api; '
            'print(va.analyze_video.__module__, api.init_model.__module__)')
    out = subprocess.run([sys.executable, '-c', code], cwd=repo_root,
                         capture_output=True, text=True, check=True,
                         env={'PYTHONPATH': repo_root, 'PATH': '/usr/bin:/bin'})
    assert out.stdout.split() == ['s2d_mm.video_analysis.timeline',
                                  's2d_mm.apis.inference']
