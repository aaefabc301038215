"What a researcher sees (#28): the result alone on stdout, progress and log lines on stderr, --quiet, --verbose, --version, and a run folder that explains itself."
import json, os, stat, subprocess, sys
import pytest
from conftest import run_cli, results, BIN, ROOT
import baasprompt
from baasprompt.train import RUN_FILES
from baasprompt.reproduce import GRIDS

ARGS = ['train', '--method', 'prompt-tuning', '--profile', 'smoke']
BARS = {'BAASPROMPT_PROGRESS': '1'}   # bars as on a terminal, though stderr is a pipe here

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "One smoke run piped through `python -m json.tool`, one with --quiet; both with bars on, both under umask 022."
    d = tmp_path_factory.mktemp('ux')
    old = os.umask(0o022)
    try:
        piped = subprocess.run(f"set -o pipefail; '{BIN/'baasprompt'}' {' '.join(ARGS)} --output '{d/'json'}' --json | '{sys.executable}' -m json.tool",
                               shell=True, executable='/bin/bash', capture_output=True, text=True, cwd=ROOT, env={**os.environ, **BARS}, timeout=600)
        quiet = run_cli(*ARGS, '--output', d/'quiet', '--quiet', env=BARS)
    finally: os.umask(old)
    return d, piped, quiet

def test_json_alone_on_stdout_so_it_pipes(runs):
    d, piped, _ = runs
    assert piped.returncode == 0, piped.stderr[-3000:]
    assert json.loads(piped.stdout)['accuracy'] == results(d/'json')['test']['accuracy']   # json.tool parsed stdout whole
    assert 'epoch 1/1' in piped.stderr and 'setting up prompt-tuning' in piped.stderr      # the run's lines: stderr
    assert 'epoch 1:' in piped.stderr and 'it/s]' in piped.stderr                          # a bar with its rate (and ETA): stderr
    assert 'test accuracy' in piped.stderr and str(d/'json') in piped.stderr              # the summary, beside the JSON, on stderr
    assert 'Loading weights' not in piped.stderr and 'Token indices sequence length' not in piped.stderr

def test_quiet_prints_the_summary_and_nothing_else(runs):
    d, _, quiet = runs
    assert 'epoch' not in quiet.stderr and 'it/s' not in quiet.stderr and 'setting up' not in quiet.stderr, quiet.stderr[-2000:]
    lines = quiet.stdout.splitlines()
    assert [l.split()[0] for l in lines] == ['method', 'model', 'dataset', 'epoch', 'test', 'test', 'time', 'run'], quiet.stdout
    acc = results(d/'quiet')['test']['accuracy']
    assert lines[0].split() == ['method', 'prompt-tuning'] and f'{acc:.4f}' in lines[4] and lines[-1].endswith(str(d/'quiet'))
    assert 'epoch 1/1' in (d/'quiet'/'train.log').read_text()     # quiet silences the terminal, not the run's log

def test_run_folder_log_readme_and_modes(runs):
    d = runs[0]
    for run in (d/'json', d/'quiet'):
        assert sorted(p.name for p in run.iterdir()) == sorted(RUN_FILES)
        log = (run/'train.log').read_text().splitlines()
        assert 'baasprompt train: prompt-tuning on minilm / sciq' in log[0] and any('epoch 1/1' in l for l in log) and 'test (epoch 1' in log[-1]
        assert 'trained.safetensors' in (run/'README.txt').read_text()
        for p in [run, *run.rglob('*')]:   # under umask 022: 0644 files, a 0755 folder, never 0600 (safetensors' own mode)
            assert stat.S_IMODE(p.stat().st_mode) == (0o755 if p.is_dir() else 0o644), (p, oct(p.stat().st_mode))

def test_version():
    assert run_cli('--version').stdout == f'baasprompt {baasprompt.__version__}\n'

def test_predict_summary_and_verbose_library_bars(runs, tmp_path):
    run = runs[0]/'json'
    bank = tmp_path/'bank.jsonl'
    bank.write_text('{"id": "q1", "question": "What gas do plants absorb?", "choices": ["carbon dioxide", "helium", "neon"], "label": 0}\n'
                    '{"id": "q2", "question": "Water boils at?", "choices": ["100 C", "10 C"]}\n')
    r = run_cli('predict', '--run', run, '--input', bank)
    assert [json.loads(l)['id'] for l in r.stdout.splitlines()] == ['q1', 'q2']       # stdout: the predictions only
    assert 'questions    2' in r.stderr and '(1 of 1 labelled questions)' in r.stderr and 'Loading weights' not in r.stderr
    r = run_cli('predict', '--run', run, '--input', bank, '--output', tmp_path/'p.jsonl', '--verbose')
    assert r.stdout.splitlines()[0] == 'questions    2' and str(tmp_path/'p.jsonl') in r.stdout   # the summary, on stdout this time
    assert 'Loading weights' in r.stderr                                                  # --verbose: the libraries' own bars too

def test_reproduce_lists_every_profile_and_ends_with_a_table():
    r = run_cli('reproduce', '--help')
    assert all(p in r.stdout for p in GRIDS) and 'smoke' in r.stdout
    r = run_cli('reproduce', '--profile', 'smoke', '--dry-run', '--quiet')
    assert r.stderr == '' and r.stdout.splitlines()[0].startswith('reproduce smoke --dry-run: done in ')
    assert r.stdout.splitlines()[2:] == ['status   runs', 'checked     2'] and '{' not in r.stdout
