"`kill -9` in the middle of a run, then `--resume`: the results equal those of an uninterrupted run with the same seed."
import json, os, signal, subprocess, time
from conftest import run_cli, results, predictions, BIN, ROOT

ARGS = ['train', '--method', 'lora', '--profile', 'smoke', '--set', 'epochs=3', 'train_limit=24']

def test_kill_9_then_resume_matches_uninterrupted(tmp_path):
    run_cli(*ARGS, '--output', tmp_path/'straight')
    out = tmp_path/'killed'
    proc = subprocess.Popen([str(BIN/'baasprompt'), *ARGS, '--output', str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not (out/'ckpt'/'latest.json').exists():
        assert proc.poll() is None, 'run ended before its first checkpoint'
        assert time.time() < deadline; time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    assert not (out/'results.json').exists()
    stuck = run_cli(*ARGS, '--output', out, check=False)          # without --resume: refuses, loses nothing
    assert stuck.returncode == 2 and '--resume' in stuck.stderr
    run_cli(*ARGS, '--output', out, '--resume')
    log = (out/'train.log').read_text()
    assert log.count('baasprompt train:') == 2 and ', --resume' in log and 'resumed from epoch' in log   # one log, appended on resume
    a, b = results(tmp_path/'straight'), results(out)
    assert a['test'] == b['test'] and a['best_epoch'] == b['best_epoch']
    assert [p['scores'] for p in predictions(tmp_path/'straight')] == [p['scores'] for p in predictions(out)]
    assert [json.loads(l)['train_loss'] for l in open(tmp_path/'straight'/'metrics.jsonl')] == \
           [json.loads(l)['train_loss'] for l in open(out/'metrics.jsonl')]

def _scores(run): return [json.loads(l)['scores'] for l in open(run/'predictions.jsonl')]

def test_resume_refills_the_option_cache_in_the_same_order(tmp_path):
    """`similarity` on a frozen backbone caches option vectors, encoded in chunks in the order options are first met; a resumed
    run meets them in another order unless it replays that order, and its scores then differ in the last bits (seen on an H200:
    1e-6 after rounding)."""
    from baasprompt.train import train, resolve_config
    cfg, mcfg = resolve_config('prompt-tuning', 'minilm', 'dream', 'smoke', overrides={'epochs': 2, 'train_limit': 32, 'dev_limit': 16,
                                                                                       'test_limit': 32, 'max_len': 96})
    class Stop(Exception): pass
    def stop_after_first(msg):
        if msg.startswith('epoch 2/'): raise Stop()   # printed before epoch 2's checkpoint: epoch 1's is the newest
    train(cfg, mcfg, tmp_path/'straight', log=lambda *a: None)
    try: train(cfg, mcfg, tmp_path/'resumed', log=stop_after_first)
    except Stop: pass
    assert not (tmp_path/'resumed'/'results.json').exists()
    train(cfg, mcfg, tmp_path/'resumed', resume=True, log=lambda *a: None)
    assert _scores(tmp_path/'straight') == _scores(tmp_path/'resumed')
