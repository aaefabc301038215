"README.md shows the committed demo and quick tables exactly as the `tables` notebook wrote them, and the two commands."
import pytest
from conftest import ROOT

@pytest.mark.parametrize('profile', ['demo', 'quick'])
def test_readme_table_is_the_committed_table(profile):
    readme = (ROOT/'README.md').read_text()
    table = ROOT/'results'/profile/'tables'/'main_table.md'
    if not table.exists():  # nothing committed yet: README must say so rather than show numbers
        assert f'No finished `{profile}` runs are committed yet' in readme; return
    text = table.read_text()
    ours = text[:text.index("# The paper's reported numbers")].strip().replace('# Main table', '### Main table')
    assert ours in readme

def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT/'README.md').read_text()
    assert 'make reproduce' in readme and 'make test' in readme
    assert 'make test' in (ROOT/'.ci'/'run').read_text()
