"""The flags the README names for each tool are the ones the tool takes
(README, "Train and test": the sentence after the training commands)."""
import pytest
from s2d_testing import load_script

#: tool -> flags the README says it takes
DOCUMENTED = {
    'train.py': ('--work-dir', '--resume', '--amp', '--auto-scale-lr',
                 '--seed', '--deterministic', '--cfg-options', '--launcher'),
    'test.py': ('--work-dir', '--cfg-options', '--launcher', '--dump'),
    'infer.py': ('--cfg-options', '--device', '--detector', '--det-options',
                 '--enlarge'),
    'analyze_video.py': ('--cfg-options', '--device', '--precision',
                         '--launcher'),
}
#: flags the README says these tools do NOT take
NOT_TAKEN = {
    'test.py': ('--resume', '--amp'),
    'infer.py': ('--launcher', '--work-dir', '--detect-every'),
    'analyze_video.py': ('--work-dir', ),
}


def _help(tool, capsys):
    module = load_script('tools', tool)
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(['--help'])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize('tool', sorted(DOCUMENTED))
def test_readme_flags_exist(tool, capsys):
    text = _help(tool, capsys)
    words = set(text.replace('[', ' ').replace(']', ' ').replace(',', ' ')
                .split())
    assert set(DOCUMENTED[tool]) <= words, set(DOCUMENTED[tool]) - words
    assert not set(NOT_TAKEN.get(tool, ())) & words
