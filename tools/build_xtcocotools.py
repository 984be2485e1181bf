"""Build xtcocotools from its sdist on Python >= 3.13 (run by tools/install.sh).

mmpose imports xtcocotools, which has no wheels for Python >= 3.12 and whose
``setup.py`` reads its own version with ``exec(...)`` followed by
``locals()['__version__']`` inside a function. Python 3.13 (PEP 667) gives
``exec`` a snapshot of the function's locals there, so the name is lost and
pip cannot even read the package's metadata (``KeyError: '__version__'``),
which also means ``pip download`` cannot fetch the sdist. This script

1. finds the sdist of the requested version on the package index pip uses
   (``PIP_INDEX_URL``, else pip's ``global.index-url``, else PyPI) and checks
   its sha256 against the index's and, for the versions listed in
   :data:`KNOWN_SHA256`, against the hash recorded here;
2. unpacks it and makes ``get_version`` run the version file in an explicit
   namespace (the only change);
3. builds and installs it without build isolation against the numpy and
   cython already installed.

Usage: ``python tools/build_xtcocotools.py 1.14.3``. ``S2D_XTCOCOTOOLS_SDIST``
may name a local copy of the sdist instead of the index.
"""
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request

KNOWN_SHA256 = {
    '1.14.3':
    '6434382784d206204d2a1b491dba359ff3464a2b9eb5890fbc0d868cad4e810f',
}

_EXEC = "exec(compile(f.read(), version_file, 'exec'))"
_EXEC_FIXED = "exec(compile(f.read(), version_file, 'exec'), _ns)"


def _index_url():
    url = os.environ.get('PIP_INDEX_URL')
    if not url:
        out = subprocess.run(
            [sys.executable, '-m', 'pip', 'config', 'get', 'global.index-url'],
            capture_output=True, text=True)
        url = out.stdout.strip() if out.returncode == 0 else ''
    return (url or 'https://pypi.org/simple').rstrip('/')


def _fetch_sdist(version, dest):
    name = f'xtcocotools-{version}.tar.gz'
    page_url = f'{_index_url()}/xtcocotools/'
    with urllib.request.urlopen(page_url, timeout=60) as page:
        html = page.read().decode()
    links = [link for link in re.findall(r'href="([^"]+)"', html)
             if link.split('#')[0].endswith('/' + name)]
    if not links:
        sys.exit(f'[install] error: {name} not found on {page_url}')
    url, _, fragment = links[0].partition('#')
    url = urllib.parse.urljoin(page_url, url)
    path = os.path.join(dest, name)
    with urllib.request.urlopen(url, timeout=300) as src, \
            open(path, 'wb') as out:
        out.write(src.read())
    index_sha = fragment.partition('sha256=')[2]
    return path, index_sha


def _check_sha(path, version, index_sha):
    digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    for expected, source in ((index_sha, 'the index'),
                             (KNOWN_SHA256.get(version), 'this script')):
        if expected and digest != expected:
            sys.exit(f'[install] error: sha256 of {path} is {digest}, '
                     f'{source} says {expected}')


def _fix_setup(src_dir):
    setup_py = os.path.join(src_dir, 'setup.py')
    text = open(setup_py).read()
    if _EXEC not in text:
        return  # a release that reads its version differently
    text = text.replace(_EXEC, '_ns = {}\n        ' + _EXEC_FIXED)
    text = re.sub(r"locals\(\)\[('(?:short_version|__version__)')\]",
                  r'_ns[\1]', text)
    open(setup_py, 'w').write(text)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    version = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        local = os.environ.get('S2D_XTCOCOTOOLS_SDIST')
        if local:
            path, index_sha = local, None
        else:
            path, index_sha = _fetch_sdist(version, tmp)
        _check_sha(path, version, index_sha)
        with tarfile.open(path) as tar:
            tar.extractall(tmp, filter='data')
        src_dir = os.path.join(tmp, f'xtcocotools-{version}')
        _fix_setup(src_dir)
        subprocess.run([
            sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
            '--no-build-isolation', src_dir
        ], check=True)
    print(f'[install] built xtcocotools {version} from its sdist')


if __name__ == '__main__':
    main()
