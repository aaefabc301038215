"""Issue 26, one test per class of fault a new user found: nothing a user owns is overwritten, no run is mislabelled,
data means one thing, a damaged run is never taken as finished, values that cannot be meant are refused when the config
is resolved, and every expected failure (safetensors, JSON, Ctrl-C) is one line. Each test failed on the code before."""
import json, resource, shutil, signal, subprocess
from pathlib import Path
import pytest
from conftest import ROOT, BIN, results
from test_cli import cli
from test_own_data import bank, q

SMOKE = ['--profile', 'smoke', '--method', 'prompt-tuning']

def one_line(rc, err, *needles, code=2):
    "Exit `code`, no traceback, and one line of ours (a subprocess also shows the libraries' progress bars: their noise is issue 28's)."
    ours = [l for l in err.strip().splitlines() if l.startswith('baasprompt ')]
    assert rc == code and 'Traceback' not in err and len(ours) == 1, err[-2000:]
    for n in needles: assert n in ours[0], err

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A finished smoke prompt-tuning run (the refusals below all come before any model is loaded)."
    d = tmp_path_factory.mktemp('safety')
    rc, _, err = cli('train', *SMOKE, '--output', d/'run')
    assert rc == 0, err
    return d/'run'

def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}

def test_1_nothing_a_user_owns_is_overwritten(tmp_path, run):
    # train --output into a folder of a user's files: refused, ckpt/ and the files untouched
    mine = tmp_path/'mine'; (mine/'ckpt').mkdir(parents=True)
    (mine/'ckpt'/'model.bin').write_bytes(b'weights'); (mine/'predictions.jsonl').write_text('my predictions\n')
    before = snapshot(mine)
    one_line(*cli('train', *SMOKE, '--output', mine)[::2], 'holds files that are not a run', 'choose another --output')
    assert snapshot(mine) == before
    # export over the run's own files: refused whatever the flags, the run intact and still predicting
    data, kept = bank(tmp_path/'b'), snapshot(run)
    for own in ('trained.safetensors', 'results.json'):
        one_line(*cli('export', '--run', run, '--output', run/own, '--into-run', '--overwrite')[::2], "never over the run's own files")
    assert snapshot(run) == kept
    # predict: the input is never replaced by the predictions; an existing file only with --overwrite
    questions = data/'test.jsonl'; text = questions.read_bytes()
    one_line(*cli('predict', '--run', run, '--input', questions, '--output', questions)[::2], 'is the input')
    assert questions.read_bytes() == text
    (tmp_path/'p.jsonl').write_text('older predictions\n')
    one_line(*cli('predict', '--run', run, '--input', questions, '--output', tmp_path/'p.jsonl')[::2], 'exists; pass --overwrite')
    assert (tmp_path/'p.jsonl').read_text() == 'older predictions\n'
    assert cli('predict', '--run', run, '--input', questions, '--output', tmp_path/'p.jsonl', '--overwrite')[0] == 0
    assert len((tmp_path/'p.jsonl').read_text().splitlines()) == 8

@pytest.mark.parametrize('key, value', [('method', 'lora'), ('model', 'tiny-bert'), ('dataset', 'dream'), ('profile', 'demo'),
                                        ('seed', '1'), ('method.method', 'lora'), ('trains', 'false')])
def test_2_a_runs_identity_only_from_its_own_flags(tmp_path, key, value):
    rc, out, err = cli('train', *SMOKE, '--output', tmp_path/'x', '--set', f'{key}={value}')
    one_line(rc, err, f'--set {key}')
    assert not (tmp_path/'x').exists()                 # refused at resolution: nothing trained under another name

def test_3_data_means_one_thing(tmp_path, run):
    disagree = [q(i) for i in range(16)]
    disagree[3] = {**q(3), 'label': 0, 'answer': 'option 2 of 3'}
    one_line(*cli('train', *SMOKE, '--dataset', f"jsonl:{bank(tmp_path/'a', train=disagree)}", '--output', tmp_path/'r1')[::2],
             "train.jsonl line 4 (id 'q3'): label 0 (choice 0, 'option 0 of 3') and answer 'option 2 of 3' (choice 2) disagree")
    twice = [q(i) for i in range(16)]
    twice[5] = {**q(5), 'choices': ['red', 'blue', 'Red', 'green'], 'label': 2}
    one_line(*cli('train', *SMOKE, '--dataset', f"jsonl:{bank(tmp_path/'b', train=twice)}", '--output', tmp_path/'r2')[::2],
             "train.jsonl line 6: option 'Red' is repeated in")
    rc, _, err = cli('train', *SMOKE, '--dataset', f"jsonl:{tmp_path/'b'}", '--output', tmp_path/'r3', '--set', 'allow_repeated_options=true')
    assert rc == 0, err                                # asked for: kept, and counted in results.json
    assert results(tmp_path/'r3')['duplicate_choices']['train'] == {'questions': 1, 'gold_on_later_copy': 1}
    (tmp_path/'ask.jsonl').write_text(json.dumps({'question': 'Which?', 'choices': ['x', 'y', 'x']}) + '\n')
    one_line(*cli('predict', '--run', run, '--input', tmp_path/'ask.jsonl')[::2], "ask.jsonl line 1: option 'x' is repeated")
    # a registered dataset is kept as published, its repeated options counted in results.json
    assert results(run)['duplicate_choices'] == {'train': {'questions': 0, 'gold_on_later_copy': 0},
                                                 'dev': {'questions': 0, 'gold_on_later_copy': 0},
                                                 'test': {'questions': 0, 'gold_on_later_copy': 0}}

def test_4_a_damaged_run_is_never_taken_as_finished(tmp_path, run):
    cut = tmp_path/'cut'; shutil.copytree(run, cut)
    weights = (cut/'trained.safetensors').read_bytes()
    (cut/'trained.safetensors').write_bytes(weights[:len(weights) // 2])
    rc, out, err = cli('train', *SMOKE, '--output', cut)
    one_line(rc, err, 'is a damaged run: trained.safetensors has')
    assert 'not run again' not in out + err
    one_line(*cli('predict', '--run', cut, '--input', bank(tmp_path/'b')/'test.jsonl')[::2], 'is a damaged run')
    # the grid: a damaged results.json is not a finished run; it is moved aside whole and run again
    from baasprompt.reproduce import grid, run_dir, is_done, set_aside_stale, resolved
    from baasprompt.train import train
    spec = grid('smoke')[0]
    out = run_dir(spec, 'smoke', tmp_path)
    train(*resolved(spec, 'smoke'), out, log=lambda *a: None)
    assert is_done(spec, 'smoke', tmp_path)
    (out/'results.json').write_text((out/'results.json').read_text()[:100])
    assert not is_done(spec, 'smoke', tmp_path)
    moved = set_aside_stale(spec, 'smoke', tmp_path)
    assert moved.name.endswith('.damaged') and not out.exists() and (moved/'trained.safetensors').exists()

@pytest.mark.parametrize('args, says', [
    (['--set', 'lr=-1'], 'lr must be > 0, not -1'),
    (['--set', 'lr=nan'], 'lr must be a finite number, not nan'),
    (['--set', 'threads=-3'], 'threads must be ≥ 0, not -3'),
    (['--set', 'n_boot=0'], 'n_boot must be ≥ 1, not 0'),
    (['--seed', '-1'], 'seed must be 0 ≤ x ≤ 4294967295, not -1'),
    (['--set', 'num_virtual_tokens=0'], 'num_virtual_tokens must be ≥ 1, not 0'),
    (['--set', 'max_len=1024'], 'max_len must be ≤ 512 for minilm (its positions), not 1024'),
    (['--set', 'dropout=1'], 'dropout must be 0 ≤ x < 1, not 1'),
])
def test_5_values_that_cannot_be_meant_are_refused_at_resolution(tmp_path, args, says):
    one_line(*cli('train', *SMOKE, '--output', tmp_path/'x', *args)[::2], says)
    assert not (tmp_path/'x').exists()                 # before any folder, model or step

def test_5_ranges_are_in_the_help():
    r = subprocess.run([str(BIN/'baasprompt'), 'train', '--help'], capture_output=True, text=True)
    for says in ('lr > 0', 'n_boot ≥ 1', 'num_virtual_tokens ≥ 1', 'dropout 0 ≤ x < 1', 'suffix_ratio 0 < x < 1', 'random seed, 0 ≤ x ≤ 4294967295'):
        assert says in r.stdout, says

def _limited(limit: int):
    "A child process whose files may not grow beyond `limit` bytes (as a full disk would stop them), told by EFBIG rather than a signal."
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre

def _cli(*args, limit=None, timeout=600):
    return subprocess.run([str(BIN/'baasprompt'), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limited(limit) if limit else None)

def test_6_safetensors_and_json_failures_are_one_line(tmp_path, run):
    # a write that fails part-way (a full disk): safetensors' own error, now named with its path
    r = _cli('train', *SMOKE, '--output', tmp_path/'full', limit=8000)
    one_line(r.returncode, r.stderr, 'best.safetensors', 'File too large')
    # --resume over a truncated checkpoint
    part = tmp_path/'part'; shutil.copytree(run, part); (part/'results.json').unlink()
    ck = part/'ckpt'/'epoch-1'; ck.mkdir(parents=True)
    (ck/'trainable.safetensors').write_bytes((run/'trained.safetensors').read_bytes()[:300])
    (part/'ckpt'/'latest.json').write_text('{"checkpoint": "epoch-1"}')
    one_line(*cli('train', *SMOKE, '--output', part, '--resume')[::2], 'is unreadable', 'delete that folder')
    # predict --run pointing at a file that is not an export
    one_line(*cli('predict', '--run', run/'results.json', '--input', bank(tmp_path/'b')/'test.jsonl')[::2], 'results.json: cannot read tensors')
    # a model folder whose config.json is damaged
    (tmp_path/'model').mkdir(); (tmp_path/'model'/'config.json').write_text('{"model_type": ')
    one_line(*cli('train', *SMOKE, '--model', tmp_path/'model', '--output', tmp_path/'m')[::2], 'config.json: not valid JSON')

def test_7_messages_say_what_happened(tmp_path, run):
    # a link loop is a link loop, not a missing file
    data = bank(tmp_path/'b'); (data/'train.jsonl').unlink(); (data/'dev.jsonl').unlink()
    (data/'train.jsonl').symlink_to('dev.jsonl'); (data/'dev.jsonl').symlink_to('train.jsonl')
    one_line(*cli('train', *SMOKE, '--dataset', f'jsonl:{data}', '--output', tmp_path/'r')[::2],
             'train.jsonl is a link that leads to no file (too many levels of symbolic links)')
    # a full disk in predict names the file it could not write
    big = bank(tmp_path/'c')/'test.jsonl'
    r = _cli('predict', '--run', run, '--input', big, '--output', tmp_path/'preds.jsonl', limit=400)
    one_line(r.returncode, r.stderr, str(tmp_path/'preds.jsonl'), 'File too large')
    # no lock file is left beside a run
    assert sorted(p.name for p in run.parent.iterdir()) == ['run']
    # Ctrl-C: one line, exit 130, and the checkpoint says how to go on
    p = subprocess.Popen([str(BIN/'baasprompt'), 'train', *SMOKE, '--output', tmp_path/'long', '--set', 'epochs=200'], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as at a terminal: a shell's background job starts with SIGINT ignored
    for line in p.stderr:   # a run's lines go to stderr (stdout is for its result)
        if line.startswith('epoch 2/'): break
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    one_line(p.returncode, err, 'baasprompt train: interrupted; the last checkpoint is whole: the same command with --resume continues the run', code=130)
    assert (tmp_path/'long'/'ckpt'/'latest.json').exists()
