"A 2-process CPU run (gloo, via torchrun) evaluates exactly the questions a 1-process run does, with matching accuracy, under each scorer."
import json, os, subprocess, sys
import pytest
from conftest import results, predictions, BIN, ROOT

# 30 test questions with eval batches of 8 over 2 processes: the sampler pads the last batch, gather_for_metrics must drop it
SET = ['--set', 'train_limit=16', 'test_limit=30', 'dev_limit=10', 'eval_batch_size=8']

def _run(out, nproc, batch, model, scorer):
    cmd = [str(BIN/'torchrun'), '--standalone', f'--nproc_per_node={nproc}', '-m', 'baasprompt.train',
           '--method', 'prompt-tuning', '--model', model, '--profile', 'smoke', '--output', str(out), *SET, f'batch_size={batch}', f'scorer={scorer}']
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    return results(out)

@pytest.mark.parametrize('model, scorer', [('minilm', 'head'), ('minilm', 'similarity'), ('tiny-llama', 'likelihood')])
def test_two_processes_evaluate_the_same_questions(model, scorer, tmp_path):
    one = _run(tmp_path/'one', 1, 4, model, scorer)
    two = _run(tmp_path/'two', 2, 2, model, scorer)     # same global batch: 2 processes × 2 questions
    assert two['num_processes'] == 2 and one['num_processes'] == 1 and one['scorer'] == two['scorer'] == scorer
    assert one['n_test'] == two['n_test'] == two['test']['n'] == 30
    ids1, ids2 = [p['id'] for p in predictions(tmp_path/'one')], [p['id'] for p in predictions(tmp_path/'two')]
    assert ids1 == ids2 and len(set(ids2)) == 30
    assert abs(one['test']['accuracy'] - two['test']['accuracy']) <= 0.1
