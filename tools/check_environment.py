"""Check the environment that ``tools/install.sh`` built.

* exactly one distribution provides ``cv2``, and it is
  ``opencv-python-headless``: two of them (mmengine and mmpose ask for
  opencv-python, mmaction2 for opencv-contrib-python) would overwrite each
  other's files inside the one ``cv2`` folder;
* ``pip check`` finds every requirement met, except the OpenCV names that the
  headless build stands in for and the platform tag of decord 0.6.0's wheel
  (tagged manylinux2010, which current pip no longer matches, while the wheel
  imports and decodes fine) and the pins of facenet-pytorch 2.6.0, which
  is installed for the MTCNN weight files it ships and never imported (its
  metadata asks for torch < 2.3, numpy < 2 and packages its own code uses);
* ``cv2`` has what the project uses of it: ``CascadeClassifier`` with the
  frontal-face Haar cascade (the ``--detector haar`` fallback of the video
  tools; OpenCV 5 builds lack both) and ``FaceDetectorYN``.

``--cv2-only`` runs the first check alone and accepts no provider yet (the
installer calls it before installing into an existing environment).
Exit status 1 with the reason on stderr when a check fails.
"""
import argparse
import subprocess
import sys
from importlib import metadata

CV2_DISTRIBUTIONS = ('opencv-python', 'opencv-contrib-python',
                     'opencv-python-headless',
                     'opencv-contrib-python-headless')
CV2_WANTED = 'opencv-python-headless'

# `pip check` lines that are expected, with the reason above.
ACCEPTED_PIP_CHECK = (
    'requires opencv-python, which is not installed',
    'requires opencv-contrib-python, which is not installed',
    'decord 0.6.0 is not supported on this platform',
    'facenet-pytorch 2.6.0 ',
)


def installed(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_cv2(allow_none=False):
    found = {d: v for d in CV2_DISTRIBUTIONS if (v := installed(d))}
    others = sorted(set(found) - {CV2_WANTED})
    if others:
        return (f'{", ".join(f"{d} {found[d]}" for d in others)} provide(s) '
                f"'cv2' besides {CV2_WANTED}, the one the project installs; "
                f'two providers overwrite each other inside one cv2 folder. '
                f'Remove them: {sys.executable} -m pip uninstall -y '
                f'{" ".join(others)}')
    if not found and not allow_none:
        return f'no distribution provides cv2; install {CV2_WANTED}'
    return None


def check_cv2_features():
    import os.path as osp
    try:
        import cv2
    except ImportError as err:
        return f'cv2 does not import: {err}'
    missing = [n for n in ('CascadeClassifier', 'FaceDetectorYN')
               if not hasattr(cv2, n)]
    cascade = osp.join(getattr(getattr(cv2, 'data', None), 'haarcascades',
                               ''), 'haarcascade_frontalface_default.xml')
    if not osp.isfile(cascade):
        missing.append(cascade)
    if missing:
        return (f'cv2 {cv2.__version__} lacks {", ".join(missing)}; install '
                'the version of requirements/opencv.txt')
    return None


def check_pip():
    out = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                         capture_output=True, text=True)
    problems = [
        line for line in out.stdout.splitlines()
        if line.strip() and not any(a in line for a in ACCEPTED_PIP_CHECK)
    ]
    if problems:
        return 'pip check found unmet requirements:\n  ' + '\n  '.join(problems)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cv2-only', action='store_true',
                        help='only check the cv2 providers; none is fine')
    args = parser.parse_args()
    errors = [check_cv2(allow_none=args.cv2_only)]
    if not args.cv2_only:
        errors += [check_cv2_features(), check_pip()]
    errors = [e for e in errors if e]
    for err in errors:
        print(f'[install] error: {err}', file=sys.stderr)
    if errors:
        sys.exit(1)
    if not args.cv2_only:
        print(f'[install] environment checked: cv2 from {CV2_WANTED} '
              f'{installed(CV2_WANTED)}, all requirements met')


if __name__ == '__main__':
    main()
