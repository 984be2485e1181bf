"""The package imports and registers its modules where configs look."""
import subprocess
import sys


def test_version_and_registries():
    import s2d_mm
    assert isinstance(s2d_mm.__version__, str)
    assert s2d_mm.version_info[0] >= 0


def test_custom_imports_in_fresh_interpreter():
    """A config's custom_imports must be enough to register the plugin."""
    code = (
        'from mmengine.config import Config\n'
        'from mmengine.utils import import_modules_from_strings\n'
        "cfg = Config(dict(custom_imports=dict(imports=['s2d_mm'], "
        'allow_failed_imports=False)))\n'
        'import_modules_from_strings(**cfg.custom_imports)\n'
        'from mmengine.runner.checkpoint import CheckpointLoader\n'
        "loader = CheckpointLoader._schemes['']\n"
        "assert loader.__module__ == 's2d_mm.patches', loader\n"
        'import mmaction.models, mmpretrain.models, mmpose.models\n')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_wheel_holds_only_the_plugin(tmp_path, repo_root):
    """The wheel is the plugin (what configs name): no demo, release-style
    reference path, benchmark or test helpers; installed from it (not
    editable), ``import s2d_mm`` and the tools' ``--help`` work."""
    import os
    import shutil
    import zipfile

    # a copy of what a clone has, so that no build/ left in the checkout
    # (setuptools never cleans it) leaks old modules into the wheel
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'pyproject.toml', 'README.md', 'LICENSE'):
        shutil.copy(os.path.join(repo_root, name), src)
    for name in ('s2d_mm', 'requirements', 'configs', 'demo', 'tools',
                 'tests'):
        shutil.copytree(os.path.join(repo_root, name), src / name,
                        ignore=shutil.ignore_patterns('__pycache__', 'data'))
    out = tmp_path / 'wheel'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                    '--no-build-isolation', '-q', str(src), '-w', str(out)],
                   check=True, cwd=tmp_path)
    (wheel, ) = out.glob('s2d_mm-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n for n in names if n.endswith('.py')]
    assert modules and all(n.startswith('s2d_mm/') for n in modules), [
        n for n in modules if not n.startswith('s2d_mm/')]
    for word in ('demo', 'reference', 'benchmark', 'testing', 'cpu_alloc'):
        assert not [n for n in modules if word in n], (word, modules)

    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                    '-q', '--target', str(target), str(wheel)], check=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    where = subprocess.run(
        [sys.executable, '-c', 'import s2d_mm; print(s2d_mm.__file__)'],
        env=env, cwd=tmp_path, check=True, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(target)), where.stdout
    for tool in ('train.py', 'test.py', 'infer.py', 'analyze_video.py'):
        subprocess.run([sys.executable, os.path.join(repo_root, 'tools', tool),
                        '--help'], env=env, cwd=tmp_path, check=True,
                       capture_output=True)
