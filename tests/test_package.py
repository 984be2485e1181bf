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
