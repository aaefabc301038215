"README.md: its first screen says what the project found; it shows the committed demo and quick tables as the `tables` notebook wrote them; the two commands; LICENSE and CITATION.cff agree with settings.ini."
import configparser, re
import pandas as pd, pytest, yaml
from conftest import ROOT

def _readme(): return (ROOT/'README.md').read_text()

@pytest.mark.parametrize('profile', ['demo', 'quick'])
def test_readme_table_is_the_committed_table(profile):
    readme = _readme()
    tables = ROOT/'results'/profile/'tables'
    if not (tables/'main_table.md').exists():  # nothing committed yet: README must say so rather than show numbers
        assert f'No finished `{profile}` runs are committed yet' in readme; return
    head = (tables/'main_table.md').read_text().split('\n|')[0].strip().replace('# Main table', '### Main table')
    assert head in readme
    table = re.search(r'(?:^\|.*\n?)+', readme[readme.index(head) + len(head):], re.M)[0]   # the first table after the header
    rows = [[c.strip() for c in l.strip().strip('|').split('|')] for l in table.splitlines()]
    t = pd.read_csv(tables/'main_table.csv', dtype=str)
    cols = ['backbone', 'method', 'seeds'] + [c for c in t.columns if c.endswith(' acc')] + ['avg F1']
    assert rows[0] == [c.replace(' acc', '') for c in cols]
    assert rows[2:] == t[cols].fillna('').values.tolist()   # every cell as the tables wrote it, in its order
    assert max(len(r) for r in rows) <= 12                     # a table that reads on a screen

def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = _readme()
    assert 'make reproduce' in readme and 'make test' in readme
    assert 'make test' in (ROOT/'.ci'/'run').read_text()

def test_first_screen_says_what_it_found():
    "What the project found comes within the first screen (50 lines), after what it is and how to start, before the details."
    lines = _readme().splitlines()
    heads = [l for l in lines if l.startswith('## ')]
    assert heads[:2] == ['## Start', '## What it found']
    found = lines.index('## What it found')
    assert found < 50 and any('Few-shot study' in l for l in lines[found:found + 12]) and any('CPU reproduction' in l for l in lines[found:found + 12])
    assert not re.search(r'\n{3,}', _readme())                 # no runs of blank lines
    assert not re.search(r'commit `[0-9a-f]{7}`', _readme())    # development history lives in CHANGELOG.md and the git log

def test_license_and_citation_match_settings():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini'); s = cfg['DEFAULT']
    assert s['license'] == 'apache2' and 'Apache License' in (ROOT/'LICENSE').read_text() and 'Version 2.0' in (ROOT/'LICENSE').read_text()
    cff = yaml.safe_load((ROOT/'CITATION.cff').read_text())
    assert cff['cff-version'] == '1.2.0' and cff['license'] == 'Apache-2.0' and str(cff['version']) == s['version']
    assert {'message', 'title', 'authors', 'repository-code'} <= set(cff) and cff['references'][0]['title'].startswith('BaasPrompt')

def test_figures_resolve_from_the_notebook_folder():
    "nbs/index.ipynb (README's source) shows the figures in JupyterLab too: `figures/…` resolves from nbs/ through the nbs/figures link."
    readme = _readme()
    figs = re.findall(r'!\[[^\]]*\]\(([^)]+\.png)\)', readme)
    assert figs and all((ROOT/f).exists() and (ROOT/'nbs'/f).exists() for f in figs)
