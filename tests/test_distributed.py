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

# Every trained method of the paper on 2 gloo processes (tiny-bert, 2 optimiser steps of 2 micro-batches each). `full` stopped
# at its second step under DDP while BERT's pooler was trainable without a gradient.
STEPS = ['--set', 'train_limit=16', 'dev_limit=4', 'test_limit=6', 'batch_size=2', 'grad_accum=2', 'eval_batch_size=4']

@pytest.mark.parametrize('method, scorer', [('full', 'head'), ('full', 'similarity'), ('prompt-tuning', 'head'), ('prefix-tuning', 'head'),
                                            ('p-tuning', 'head'), ('p-tuning-v2', 'head'), ('lora', 'head'), ('baasprompt', 'head')])
def test_every_method_trains_on_two_processes(method, scorer, tmp_path):
    out = tmp_path/'run'
    cmd = [str(BIN/'torchrun'), '--standalone', '--nproc_per_node=2', '-m', 'baasprompt.train', '--method', method, '--model', 'tiny-bert',
           '--profile', 'smoke', '--output', str(out), *STEPS, f'scorer={scorer}']
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    res = results(out)
    assert res['num_processes'] == 2 and res['test']['n'] == 6 and res['precision'] == 'fp32'
    # 16 questions / (2 processes × 2 per batch) = 4 micro-batches per process, 2 accumulated per step: 2 optimiser steps
    assert res['optimizer_steps'] == 2

def test_the_collective_guard_refuses_a_host_tensor_on_a_gpu_process():
    import torch
    from baasprompt.core import BaasPromptError
    from baasprompt.train import on_device, reduce_sum
    class GPUProcess:   # what accelerate reports on a GPU: collectives there go through NCCL, which refuses host tensors
        device = torch.device('cuda', 0)
        def reduce(self, t, reduction): raise AssertionError('the guard must stop the tensor before the collective')
    with pytest.raises(BaasPromptError, match='NCCL would refuse it'): reduce_sum(GPUProcess(), torch.zeros(3))
    class CPUProcess:
        device = torch.device('cpu')
    t = torch.zeros(3)
    assert on_device(CPUProcess(), t) is t

def test_one_guarded_collective_per_optimiser_step(monkeypatch):
    "8 micro-batches accumulated 2 at a time: the loop reduces 4 times, through the guard, and each evaluation gathers once (index and scores)."
    import baasprompt.train as T
    seen = []
    real = T.on_device
    def counting(accelerator, t):
        seen.append(t.shape)
        return real(accelerator, t)
    monkeypatch.setattr(T, 'on_device', counting)
    reductions = []
    real_reduce = T.reduce_sum
    monkeypatch.setattr(T, 'reduce_sum', lambda acc, t: reductions.append(1) or real_reduce(acc, t))
    cfg, mcfg = T.resolve_config('prompt-tuning', 'tiny-bert', 'sciq', 'smoke', overrides={'train_limit': 16, 'batch_size': 2, 'grad_accum': 2,
                                                                                          'dev_limit': 4, 'test_limit': 6})
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        res = T.train(cfg, mcfg, f'{d}/run', log=lambda *a: None)
    assert res['optimizer_steps'] == 4 and len(reductions) == 4            # not 8: never once per micro-batch
    assert len(seen) == 4 + 3 * 2                                          # + dev before training, dev after the epoch, test

def test_collectives_only_in_the_guarded_functions():
    "Every accelerate collective of the library is called inside `reduce_sum` or `gather_rows`, which pass their tensors through `on_device`."
    import ast
    collectives = {'reduce', 'gather', 'gather_for_metrics', 'pad_across_processes', 'all_reduce', 'all_gather'}
    for path in (ROOT/'baasprompt').glob('*.py'):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or fn.name in ('reduce_sum', 'gather_rows'): continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in collectives:
                    owner = ast.unparse(node.func.value)
                    assert 'accelerator' not in owner and 'dist' not in owner, f'{path.name}:{node.lineno} {fn.name} calls {owner}.{node.func.attr}'

def test_a_few_shot_episode_with_its_search_on_two_processes(tmp_path):
    "The learning-rate search (a candidate run per factor, then the chosen one tested) under 2 gloo processes: every process follows the same choice."
    out = tmp_path/'run'
    cmd = [str(BIN/'torchrun'), '--standalone', '--nproc_per_node=2', '-m', 'baasprompt.train', '--method', 'prompt-tuning', '--model', 'tiny-bert',
           '--dataset', 'sciq', '--profile', 'smoke', '--output', str(out), '--set', 'k=8', 'train_limit=none', 'dev_limit=none', 'epochs=2',
           'lr_factors=0.1,1', 'test_initial=true']
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    res = results(out)
    assert res['num_processes'] == 2 and (res['n_train'], res['n_dev'], res['test']['n']) == (8, 8, 8)
    assert [c['factor'] for c in res['lr_search']['candidates']] == [0.1, 1.0] and res['test_initial']['n'] == 8
    assert all((out/'lr'/f/'results.json').exists() for f in ('x0.1', 'x1'))
