"Every method trains through the CLI on the offline encoder and real data (smoke profile); errors are one clear line."
import contextlib, io, json, subprocess, sys
import pytest
from conftest import run_cli, results, predictions, BIN, ROOT
from baasprompt.cli import main

from baasprompt.methods import METHODS
TRAINABLE = [m for m, spec in METHODS.items() if spec.config().trains]   # every registered method that trains
SCORER = {'head-only': ['--set', 'scorer=head']}   # head-only trains a head; the smoke profile's minilm scorer (similarity) has none

def cli(*args):
    "The CLI in this process (same code path as the `baasprompt` script, without paying the imports again)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(list(map(str, args)))
    return rc, out.getvalue(), err.getvalue()

@pytest.mark.parametrize('method', TRAINABLE)
def test_train_each_method_smoke(method, tmp_path):
    out = tmp_path/method
    rc, stdout, _ = cli('train', '--method', method, '--model', 'minilm', '--dataset', 'sciq', '--profile', 'smoke', '--output', out, '--json',
                        *SCORER.get(method, []))
    assert rc == 0
    res = results(out)
    assert res['method'] == method and res['scorer'] == ('head' if method == 'head-only' else 'similarity') and res['n_test'] == res['test']['n'] == 8
    assert json.loads(stdout)['accuracy'] == res['test']['accuracy']   # the JSON alone on stdout
    assert 0 < res['trainable_params'] and res['best_epoch'] == 1
    assert sorted(p.name for p in out.iterdir()) == ['README.txt', 'config.json', 'metrics.jsonl', 'predictions.jsonl', 'results.json',
                                                     'train.log', 'trained.safetensors']
    for key in ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'precision_weighted', 'recall_weighted', 'f1_weighted',
                'accuracy_ci95', 'f1_macro_ci95']:
        assert key in res['test'], key
    if method not in ('full', 'baasprompt'): assert res['trainable_ratio'] < 0.2
    if method == 'baasprompt': assert res['deployed_ratio'] < 0.01   # the BAP-Encoder (~10M on minilm) is folded away

@pytest.mark.parametrize('model, scorer', [('minilm', 'similarity'), ('tiny-llama', 'likelihood')])
def test_zero_shot_runs_on_every_backbone_with_its_own_scorer(model, scorer, tmp_path):
    assert cli('train', '--method', 'zero-shot', '--model', model, '--dataset', 'arc_easy', '--profile', 'smoke', '--output', tmp_path/'z')[0] == 0
    res = results(tmp_path/'z')
    assert res['best_epoch'] == 0 and res['trainable_params'] == 0 and res['n_test'] == 8 and res['scorer'] == scorer

@pytest.mark.parametrize('args, message', [
    (['--method', 'zero-shot', '--set', 'scorer=head'], 'a new head is untrained'),
    (['--method', 'lora', '--set', 'scorer=likelihood'], 'valid scorers for it: head, similarity'),
    (['--method', 'head-only'], 'its counterpart there is zero-shot'),
    (['--method', 'lora', '--set', 'scorer=cosine'], 'unknown scorer'),
])
def test_impossible_scorer_is_one_clear_line(args, message, tmp_path):
    rc, _, err = cli('train', '--profile', 'smoke', '--output', tmp_path/'x', *args)
    assert rc == 2 and message in err and 'Traceback' not in err, err[-2000:]

def test_module_entry_point_for_launchers(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'baasprompt.train', '--method', 'prompt-tuning', '--profile', 'smoke',
                        '--dataset', 'dream', '--output', str(tmp_path/'m')], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert results(tmp_path/'m')['dataset'] == 'dream'

@pytest.mark.parametrize('args, message', [
    (['--method', 'promt-tuning'], "unknown method 'promt-tuning'; valid methods:"),
    (['--method', 'lora', '--model', 'bert-bse'], "unknown backbone 'bert-bse'; valid backbones:"),
    (['--method', 'lora', '--dataset', 'sciqq'], "unknown dataset 'sciqq'"),
    (['--method', 'lora', '--set', 'rank=4'], "unknown option 'rank'"),
    (['--method', 'prompt-tuning', '--set', 'num_virtual_tokens=60'], 'leaves'),
])
def test_bad_options_give_one_clear_line(args, message, tmp_path):
    rc, _, err = cli('train', '--profile', 'smoke', '--output', tmp_path/'x', *args)
    assert rc == 2 and message in err and 'Traceback' not in err, err[-2000:]

def test_script_reports_errors_without_traceback(tmp_path):
    r = run_cli('train', '--method', 'promt-tuning', '--output', tmp_path/'x', check=False)
    assert r.returncode == 2 and "valid methods:" in r.stderr and 'Traceback' not in r.stderr

def test_predict_is_byte_identical(tmp_path):
    assert cli('train', '--method', 'prompt-tuning', '--profile', 'smoke', '--output', tmp_path/'run')[0] == 0
    bank = tmp_path/'bank.jsonl'
    bank.write_text('{"id": "q1", "question": "What gas do plants absorb?", "choices": ["carbon dioxide", "helium", "neon"]}\n'
                    '{"question": "Water boils at?", "choices": ["100 C", "10 C"], "label": "A"}\n')
    a = run_cli('predict', '--run', tmp_path/'run', '--input', bank).stdout
    run_cli('predict', '--run', tmp_path/'run', '--input', bank, '--output', tmp_path/'p.jsonl')
    assert a == (tmp_path/'p.jsonl').read_text() and len(a.splitlines()) == 2
    rows = [json.loads(l) for l in a.splitlines()]
    assert rows[0]['id'] == 'q1' and len(rows[0]['scores']) == 3 and 'label' not in rows[0] and rows[1]['label'] == 0
