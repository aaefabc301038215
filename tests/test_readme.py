"README.md shows the committed demo table exactly as the `tables` notebook wrote it, and the two commands."
from pathlib import Path
from conftest import ROOT

def test_readme_table_is_the_committed_table():
    readme = (ROOT/'README.md').read_text()
    table = ROOT/'results'/'demo'/'tables'/'main_table.md'
    if not table.exists():  # nothing committed yet: README must say so rather than show numbers
        assert 'No finished `demo` runs are committed yet' in readme; return
    text = table.read_text()
    ours = text[:text.index("# The paper's reported numbers")].strip().replace('# Main table', '### Main table')
    assert ours in readme

def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT/'README.md').read_text()
    assert 'make reproduce' in readme and 'make test' in readme
    assert 'make test' in (ROOT/'.ci'/'run').read_text()
