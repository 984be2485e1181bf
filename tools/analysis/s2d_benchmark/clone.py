"""What the benchmark takes from the rest of the clone (outside the
installed package): the demo's face renderer (``demo/``).

``tools/`` leaves the import path alone; :func:`import_demo` imports the
clone's ``demo`` package from its folder by file location (once; later
``import demo.<module>`` statements find it in ``sys.modules``).
"""
import importlib
import importlib.util
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def import_demo():
    """The clone's ``demo`` package (synthetic faces, DFEW-layout data)."""
    if 'demo' in sys.modules:
        return sys.modules['demo']
    if importlib.util.find_spec('demo') is not None:
        return importlib.import_module('demo')
    folder = osp.join(REPO, 'demo')
    spec = importlib.util.spec_from_file_location(
        'demo', osp.join(folder, '__init__.py'),
        submodule_search_locations=[folder])
    if spec is None:
        raise ImportError(f'the demo package is missing from {folder}: the '
                          'benchmark runs from a clone of the repository')
    module = importlib.util.module_from_spec(spec)
    sys.modules['demo'] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules['demo']
        raise
    return module
