"""Files and folders written whole or not at all: a study interrupted (or
killed) mid-write leaves no half-written output that a resumed run would
take for finished."""
import contextlib
import os
import os.path as osp
import tempfile

__all__ = ['atomic_write']


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w', **kwargs):
    """Open a temporary file beside ``path``; on success it replaces
    ``path`` in one step (``os.replace``), on error it is removed."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                               suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
