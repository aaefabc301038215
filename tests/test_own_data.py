"""A teacher's own question bank through the CLI: macro metrics over the positions that occur, the data in the run's
identity, leakage refused, a failed run retried, file-system errors as one line, runs protected from predict, exported
prompts usable, help that explains itself, and the user's LLM calls kept out of the committed cache. One test per finding
of issue 17."""
import json
from pathlib import Path
import pytest
from sklearn.metrics import f1_score
from conftest import results, predictions
from test_cli import cli

SMOKE = ['--profile', 'smoke', '--method', 'prompt-tuning']

def q(i: int, n: int = 4, **kw) -> dict:
    return {'id': f'q{i}', 'question': f'Which option is number {i % n}?', 'choices': [f'option {k} of {i}' for k in range(n)],
            'label': i % n, **kw}

def bank(folder: Path, train=None, dev=None, test=None) -> Path:
    "A `jsonl:` folder: 16 training questions (one with 7 options), 8 dev, 8 test (4 options each) unless given."
    folder.mkdir(parents=True, exist_ok=True)
    parts = {'train': train or [q(i, 7 if i == 0 else 4) for i in range(16)], 'dev': dev or [q(100 + i) for i in range(8)],
             'test': test or [q(200 + i) for i in range(8)]}
    for split, rows in parts.items(): (folder/f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return folder

def train(tmp_path, data: Path, out: str = 'run', *extra):
    return cli('train', *SMOKE, '--dataset', f'jsonl:{data}', '--output', tmp_path/out, *extra)

def one_line_error(rc, err, *needles):
    assert rc == 2 and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err[-2000:]
    for n in needles: assert n in err, err

def test_1_macro_metrics_average_over_the_positions_that_occur(tmp_path):
    rc, _, err = train(tmp_path, bank(tmp_path/'b'))
    assert rc == 0, err
    res, preds = results(tmp_path/'run'), predictions(tmp_path/'run')
    assert res['n_choices'] == 7 and res['test']['positions'] == [0, 1, 2, 3]   # the widest row has 7 options; the test labels use 4
    y, p = [x['label'] for x in preds], [x['prediction'] for x in preds]
    assert res['test']['f1_macro'] == pytest.approx(f1_score(y, p, labels=[0, 1, 2, 3], average='macro', zero_division=0))
    assert res['test']['f1_macro'] != pytest.approx(f1_score(y, p, labels=range(7), average='macro', zero_division=0))

def test_2_edited_data_is_a_new_run(tmp_path):
    data = bank(tmp_path/'b')
    assert train(tmp_path, data)[0] == 0
    first = results(tmp_path/'run')
    rows = (data/'train.jsonl').read_text().splitlines()
    (data/'train.jsonl').write_text('\n'.join(rows[:-4]) + '\n')              # trim the training split
    rc, out, err = train(tmp_path, data)                                         # never the old data's results
    one_line_error(rc, err, 'holds a different run')
    assert 'not run again' not in out + err
    assert train(tmp_path, data, 'run2')[0] == 0
    again = results(tmp_path/'run2')
    assert again['n_train'] == 12 and again['data_digest']['train'] != first['data_digest']['train']
    assert again['data_digest']['test'] == first['data_digest']['test']

def test_3_a_question_in_two_splits_is_refused(tmp_path):
    data = bank(tmp_path/'b', test=[q(3), *[q(200 + i) for i in range(7)]])   # q3 is a training question too
    rc, _, err = train(tmp_path, data)
    one_line_error(rc, err, f"{data}/train.jsonl id 'q3'", f"{data}/test.jsonl id 'q3'", 'allow_overlap')
    assert not (tmp_path/'run').exists()
    rc, out, err = train(tmp_path, data, 'run', '--set', 'allow_overlap=true')
    assert rc == 0 and 'allowed by allow_overlap' in out + err

def test_4_a_failed_run_does_not_block_its_retry(tmp_path):
    data = bank(tmp_path/'b')
    rc, _, err = train(tmp_path, data, 'run', '--model', 'tiny-bret')
    assert rc == 2
    rc, _, err = train(tmp_path, data, 'run', '--model', 'nosuch/model-here')   # resolves, then fails loading: config.json is written
    assert rc == 2 and (tmp_path/'run'/'config.json').exists()
    rc, out, err = train(tmp_path, data)                                        # the corrected command, same folder
    assert rc == 0 and 'starting again' in out + err, err
    assert results(tmp_path/'run')['model'] == 'minilm'

@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    "A finished smoke BaasPrompt run and its export."
    d = tmp_path_factory.mktemp('finished')
    rc, _, err = cli('train', '--profile', 'smoke', '--method', 'baasprompt', '--output', d/'run')
    assert rc == 0, err
    rc, out, err = cli('export', '--run', d/'run')
    assert rc == 0, err
    return d

def test_5_file_system_errors_are_one_line(tmp_path, finished):
    data = bank(tmp_path/'b')
    one_line_error(*cli('predict', '--run', finished/'run', '--input', tmp_path/'missing.jsonl')[::2], 'missing.jsonl: no such file')
    (tmp_path/'afile').write_text('x')
    one_line_error(*train(tmp_path, data, 'afile/run')[::2], 'afile')
    rc, out, err = cli('export', '--run', finished/'run', '--output', tmp_path/'new'/'folder'/'prompt.safetensors')
    assert rc == 0 and (tmp_path/'new'/'folder'/'prompt.safetensors').exists(), err
    broken = tmp_path/'broken'; broken.mkdir()
    for f in ('config.json', 'results.json', 'trained.safetensors'): (broken/f).write_text('{"run": ')
    one_line_error(*cli('predict', '--run', broken, '--input', data/'test.jsonl')[::2], 'is a damaged run: results.json is not valid JSON')
    rc, _, err = cli('train', *SMOKE, '--dataset', f'jsonl:{data}', '--output', broken)
    one_line_error(rc, err, 'config.json: not a valid run config')

def test_6_predict_never_overwrites_a_run(tmp_path, finished):
    run, data = finished/'run', bank(tmp_path/'b')
    before = (run/'results.json').read_bytes()
    one_line_error(*cli('predict', '--run', run, '--input', data/'test.jsonl', '--output', run/'mine.jsonl')[::2], 'inside the run folder', '--into-run')
    one_line_error(*cli('predict', '--run', run, '--input', data/'test.jsonl', '--output', run/'results.json')[::2], 'never over')
    one_line_error(*cli('predict', '--run', run, '--input', data/'test.jsonl', '--output', run/'results.json', '--into-run')[::2], 'never over')
    assert (run/'results.json').read_bytes() == before
    assert cli('predict', '--run', run, '--input', data/'test.jsonl', '--output', run/'mine.jsonl', '--into-run')[0] == 0
    assert cli('predict', '--run', run, '--input', data/'test.jsonl')[0] == 0              # the run still predicts

def test_7_an_exported_prompt_predicts_from_the_cli(tmp_path, finished):
    data = bank(tmp_path/'b')
    rc, from_export, err = cli('predict', '--run', finished/'run'/'exported.safetensors', '--input', data/'test.jsonl')
    assert rc == 0, err
    rc, from_run, _ = cli('predict', '--run', finished/'run', '--input', data/'test.jsonl')
    assert from_export == from_run and len(from_export.splitlines()) == 8
    row = json.loads(from_export.splitlines()[0])
    assert row['predicted_text'] == q(200)['choices'][row['prediction']]          # the chosen option's text

def test_8_the_cli_explains_itself():
    import argparse
    from baasprompt.cli import build_parser
    from baasprompt.methods import METHODS
    from baasprompt.backbones import BACKBONES
    from baasprompt.config import PROFILES
    from baasprompt.scoring import SCORERS
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        for a in sub._actions:
            if isinstance(a, argparse._HelpAction): continue
            assert a.help, f'{name} {a.option_strings or a.dest} has no help'
            if a.default not in (None, False, [], '', argparse.SUPPRESS) and not a.required:   # SUPPRESS: nothing set here (-q/-v after a command defer to the top level)
                assert 'default' in a.help, f'{name} {a.option_strings}: no default shown'
    text = commands['train'].format_help()
    for names in (METHODS, BACKBONES, PROFILES, SCORERS):
        for n in names: assert n in text, n
    assert 'tiny-bert' in text and 'train.jsonl' in text and '"choices"' in text
    assert 'BAASPROMPT_DATA_DIR' in parser.format_help()
    rc, out, _ = cli('data', 'race')
    assert rc == 0 and 'NaN' not in out and 'unavailable' in out
    readme = (Path(__file__).parent.parent/'README.md').read_text()
    assert 'BAASPROMPT_DATA_DIR' in readme and 'Your own questions' in readme and 'predicted_text' in readme
    from baasprompt.data import mcq_row, _jsonl_row
    example = [json.loads(l) for l in readme.split('## Your own questions')[1].split('```sh')[0].splitlines() if l.startswith('{"id"')]
    assert len(example) == 3 and all(mcq_row(_jsonl_row(r), 'README')['label'] >= 0 for r in example)   # the documented bank is valid

def test_9_own_data_chains_go_to_the_user_cache(tmp_path, monkeypatch):
    import os
    shared = Path(os.environ.get('BAASPROMPT_CACHE') or Path.home()/'.cache'/'baasprompt')
    committed, user = tmp_path/'committed_llm_cache', tmp_path/'user_cache'
    committed.mkdir()
    monkeypatch.setenv('BAASPROMPT_LLM_CACHE', str(committed))
    monkeypatch.setenv('BAASPROMPT_CACHE', str(user))
    for sub in ('models', 'topics'):    # the costly, data-independent entries are shared
        if (shared/sub).exists(): (user/sub).parent.mkdir(parents=True, exist_ok=True); (user/sub).symlink_to(shared/sub)
    rows = [{'id': f't{i}', 'question': f'Why does ice number {i} float on water?', 'choices': ['it is less dense', 'it is heavy', 'magic'], 'label': 0}
            for i in range(16)]
    data = bank(tmp_path/'b', train=rows)
    rc, _, err = cli('train', '--profile', 'smoke', '--method', 'baasprompt', '--dataset', f'jsonl:{data}', '--output', tmp_path/'run')
    assert rc == 0, err
    assert not any(committed.rglob('*')), list(committed.rglob('*'))[:3]     # nothing written into the committed cache
    assert any((user/'llm').rglob('*.json'))                                   # the chains are in the user's cache
