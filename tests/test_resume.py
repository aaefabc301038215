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
    a, b = results(tmp_path/'straight'), results(out)
    assert a['test'] == b['test'] and a['best_epoch'] == b['best_epoch']
    assert [p['scores'] for p in predictions(tmp_path/'straight')] == [p['scores'] for p in predictions(out)]
    assert [json.loads(l)['train_loss'] for l in open(tmp_path/'straight'/'metrics.jsonl')] == \
           [json.loads(l)['train_loss'] for l in open(out/'metrics.jsonl')]
