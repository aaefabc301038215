"""Faults a long shared research run must survive: a diverging loss, two processes on one run folder, and an API key
that must never reach a file, a log, a papermill parameter or an executed notebook."""
import json, os, shutil, subprocess
from pathlib import Path
import pytest
from conftest import ROOT, BIN, results, run_cli
from test_chain_server import SECRET, server  # the same real 127.0.0.1 chat-completions server fixture

def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    import baasprompt.train as T
    from safetensors.torch import load_file
    calls = {'n': 0}
    real = T.mcq_loss
    def loss_that_diverges(scores, labels):
        calls['n'] += 1
        loss = real(scores, labels)
        return loss * float('nan') if calls['n'] > 5 else loss       # epoch 1 has 4 steps: NaN in epoch 2
    monkeypatch.setattr(T, 'mcq_loss', loss_that_diverges)
    cfg, mcfg = T.resolve_config('lora', profile='smoke', overrides={'epochs': 3})
    out = tmp_path/'run'
    with pytest.raises(T.TrainingDiverged, match=r'loss became NaN or infinite.*of epoch 2.*last good checkpoint'):
        T.train(cfg, mcfg, out, log=lambda *a: None)
    assert not (out/'results.json').exists()
    latest = json.loads((out/'ckpt'/'latest.json').read_text())['checkpoint']
    assert latest == 'epoch-1' and load_file(out/'ckpt'/latest/'trainable.safetensors')
    monkeypatch.setattr(T, 'mcq_loss', real)                          # the fault is gone: resume finishes the run
    res = T.train(cfg, mcfg, out, resume=True, log=lambda *a: None)
    assert res['best_epoch'] >= 1 and (out/'results.json').exists()

ARGS = ['train', '--method', 'head-only', '--profile', 'smoke', '--set', 'scorer=head']

def _start(out, *extra):
    return subprocess.Popen([str(BIN/'baasprompt'), *ARGS, '--output', str(out), *extra], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

def test_two_processes_on_one_run_folder_lose_and_corrupt_nothing(tmp_path):
    out = tmp_path/'shared-run'
    a, b = _start(out), _start(out)
    (oa, ea), (ob, eb) = a.communicate(timeout=600), b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0, (ea[-1500:], eb[-1500:])
    assert 'not run again' in ea + eb                                 # one waited, then found the finished run (its lines: stderr)
    res = results(out)
    assert res['n_test'] == 8 and sorted(p.name for p in out.iterdir()) == \
        ['README.txt', 'config.json', 'metrics.jsonl', 'predictions.jsonl', 'results.json', 'train.log', 'trained.safetensors']
    assert (out/'train.log').read_text().count('baasprompt train:') == 1   # written by the run that ran, not by the one that waited

def test_a_different_run_on_the_same_folder_is_refused(tmp_path):
    out = tmp_path/'run'
    a, b = _start(out), _start(out, '--seed', '1')
    (oa, ea), (ob, eb) = a.communicate(timeout=600), b.communicate(timeout=600)
    assert sorted([a.returncode, b.returncode]) == [0, 2]
    assert 'holds a different run' in ea + eb and 'Traceback' not in ea + eb
    assert results(out)['seed'] in (0, 1)                            # the finished run is intact

def test_api_key_never_reaches_any_output(tmp_path, server):
    "BaasPrompt's chain stage through the openai backend (a local server), with a recognisable dummy key, run by papermill."
    repo = tmp_path/'repo'
    for d in ('reproduce', 'paper'): shutil.copytree(ROOT/d, repo/d)
    env = {**os.environ, 'OPENAI_API_KEY': SECRET, 'BAASPROMPT_LLM_CACHE': str(tmp_path/'llm'), 'BAASPROMPT_CACHE': str(tmp_path/'cache')}
    overrides = json.dumps({'chain_writer': 'openai', 'chain_base_url': server.url, 'chain_model': 'stub-gpt'})
    nb = repo/'papermill_runs'/'run.ipynb'; nb.parent.mkdir(parents=True)
    r = subprocess.run([str(BIN/'papermill'), str(repo/'reproduce'/'run_experiment.ipynb'), str(nb), '-p', 'method', 'baasprompt',
                        '-p', 'profile', 'smoke', '-p', 'overrides', overrides, '-p', 'output', str(repo/'results'/'run'),
                        '--cwd', str(repo), '--log-output'], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert server.hits > 0 and all(q['auth'] == f'Bearer {SECRET}' for q in server.requests)   # the key was really used
    assert SECRET not in r.stdout + r.stderr
    leaks = [p for base in (repo, tmp_path/'llm', tmp_path/'cache') for p in base.rglob('*')
             if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == [], leaks
    assert results(repo/'results'/'run')['method_info']['chain_stats']['calls'] == server.hits
