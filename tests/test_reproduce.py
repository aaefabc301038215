"Papermill end to end: a grid runs as executed notebooks, finished runs are skipped, a failing run keeps its notebook and the grid goes on."
import json, os, shutil
from pathlib import Path
import pytest
from conftest import ROOT
from baasprompt.reproduce import reproduce, run_spec, RunSpec, grid, run_grid

@pytest.fixture
def repo(tmp_path):
    "A scratch repository: the driver notebooks and the paper's numbers, nothing else."
    for d in ('reproduce', 'paper'): shutil.copytree(ROOT/d, tmp_path/d)
    return tmp_path

def test_smoke_reproduction_end_to_end(repo, monkeypatch, capfd):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert reproduce('smoke', root=repo, jobs=2, log=print) == 0      # both runs at once, one thread each
    printed = ''.join(capfd.readouterr())
    assert 'ok ' in printed and 'IPKernelApp' not in printed           # the grid's lines, without the kernels' own log
    assert 'OMP_NUM_THREADS' not in os.environ                         # the grid's thread setting does not leak
    names = {s.name for s in grid('smoke')}
    statuses = json.loads((repo/'results'/'smoke'/'grid_status.json').read_text())
    assert {s['run'] for s in statuses if s['status'] == 'ok'} == names
    assert {p.stem for p in (repo/'papermill_runs'/'smoke').glob('*.ipynb')} == names | {'tables', 'ablations', 'figures'}
    for n in names: assert (repo/'results'/'smoke'/'runs'/n/'results.json').exists()
    table = (repo/'results'/'smoke'/'tables'/'main_table.md').read_text()
    assert 'zero-shot' in table and 'prompt-tuning' in table and 'similarity' in table and "The paper's reported numbers (not ours)" in table
    assert (repo/'figures'/'smoke'/'main_comparison.png').stat().st_size > 1000
    executed = json.loads((repo/'papermill_runs'/'smoke'/f'{sorted(names)[0]}.ipynb').read_text())
    assert any('injected-parameters' in c['metadata'].get('tags', []) for c in executed['cells'])
    # a second pass skips every finished run
    statuses = run_grid('smoke', root=repo, log=lambda *a: None)
    assert [s['status'] for s in statuses] == ['skipped'] * len(names)

def test_failed_run_keeps_its_notebook_and_the_grid_goes_on(repo, monkeypatch):
    bad = RunSpec('head-only', 'minilm', 'jsonl:/no/such/bank.jsonl', 0)
    good = grid('smoke')[0]
    import baasprompt.reproduce as r
    monkeypatch.setattr(r, 'grid', lambda profile: [bad, good])
    statuses = run_grid('smoke', root=repo, log=print)
    assert [s['status'] for s in statuses] == ['failed', 'ok']
    nb = repo/'papermill_runs'/'smoke'/f'{bad.name}.ipynb'
    assert nb.exists() and 'no such file or folder' in nb.read_text()
    assert json.loads((repo/'results'/'smoke'/'grid_status.json').read_text())[0]['status'] == 'failed'

def test_jobs_must_be_positive(repo):
    from baasprompt.core import ConfigError
    with pytest.raises(ConfigError, match='--jobs must be at least 1'): run_grid('smoke', root=repo, jobs=0)

def test_paper_grid_builds_and_checks_here(repo):
    statuses = run_grid('paper', root=repo, dry_run=True, log=lambda *a: None)
    assert len(statuses) == len(grid('paper')) and all(s['status'] == 'checked' for s in statuses), \
        [s for s in statuses if s['status'] != 'checked'][:3]

def test_one_run_per_gpu_and_the_accelerate_launcher(repo):
    """`--jobs G` gives each job slot one GPU (`CUDA_VISIBLE_DEVICES`); `--launcher accelerate` runs a run over all of them with the
    shipped accelerate config. On this CPU machine: two named devices, and 2 gloo processes."""
    from baasprompt.core import ConfigError
    names = sorted(s.name for s in grid('smoke'))[:2]
    runs = repo/'results'/'smoke'/'runs'
    statuses = run_grid('smoke', only=names, root=repo, jobs=2, devices=['0', '1'], log=print)
    assert [s['status'] for s in statuses] == ['ok', 'ok'] and sorted(s['devices'] for s in statuses) == ['0', '1']
    seen = {n: json.loads((runs/n/'results.json').read_text())['cuda_visible_devices'] for n in names}
    assert sorted(seen.values()) == ['0', '1'], seen                  # each run saw only its own device
    with pytest.raises(ConfigError, match='one run per GPU'): run_grid('smoke', root=repo, jobs=3, devices=['0', '1'])
    with pytest.raises(ConfigError, match='use --jobs 1'): run_grid('smoke', root=repo, jobs=2, launcher='accelerate', devices=['0', '1'])
    shutil.rmtree(runs/names[0])
    [status] = run_grid('smoke', only=[names[0]], root=repo, launcher='accelerate', devices=['0', '1'], log=print)
    res = json.loads((runs/names[0]/'results.json').read_text())
    assert status['status'] == 'ok' and status['num_processes'] == 2 and res['num_processes'] == 2 and res['cuda_visible_devices'] == '0,1'

def test_jobs_change_the_time_not_the_numbers(tmp_path):
    "A smoke run gives byte-identical predictions under --jobs 1 and --jobs 2: its threads come from its config, not the machine."
    roots = {}
    for jobs in (1, 2):
        roots[jobs] = tmp_path/f'jobs{jobs}'
        for d in ('reproduce', 'paper'): shutil.copytree(ROOT/d, roots[jobs]/d)
        statuses = run_grid('smoke', root=roots[jobs], jobs=jobs, log=print)
        assert all(s['status'] == 'ok' for s in statuses), statuses
    for spec in grid('smoke'):
        one, two = (roots[j]/'results'/'smoke'/'runs'/spec.name for j in (1, 2))
        assert (one/'predictions.jsonl').read_bytes() == (two/'predictions.jsonl').read_bytes(), spec.name
        assert json.loads((one/'results.json').read_text())['threads'] == json.loads((two/'results.json').read_text())['threads'] == 1
