"The few-shot study (#27): episodes, the equal learning-rate search, the untrained start on test; the committed runs carry what the tables need, and the tables and README are exactly what those runs give."
import contextlib, dataclasses, io, json, shutil
import pandas as pd, pytest
from conftest import ROOT, results, predictions
from baasprompt.cli import main
from baasprompt.config import resolve_config, PROFILES
from baasprompt.core import read_json
from baasprompt.reproduce import grid, resolved
from baasprompt.train import train, choose_lr, finished_run

RUNS = ROOT/'results'/'fewshot'/'runs'
COMMITTED = sorted(p.parent for p in RUNS.glob('*/results.json'))

def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(list(map(str, args)))
    return rc, out.getvalue(), err.getvalue()

def test_the_grid_gives_every_method_the_same_budget():
    specs = grid('fewshot')
    assert len({s.name for s in specs}) == len(specs)
    budgets = set()
    for s in specs:
        cfg, mcfg = resolved(s, 'fewshot')
        if mcfg.trains: budgets.add((cfg.lr_scales, cfg.epochs, cfg.patience, cfg.k in (16, 64), cfg.test_initial))
        else: assert s.method == 'zero-shot' and cfg.k is None
    assert budgets == {((0.1, 1.0, 10.0), 20, 5, True, True)}   # one search, one schedule, for every trained method

def test_committed_runs_record_the_study():
    assert COMMITTED, 'no few-shot run is committed'
    for out in COMMITTED:
        res = finished_run(out, weights=False)
        if res['method'] == 'zero-shot': assert res['k'] is None; continue
        assert res['k'] in (16, 64) and res['episode'] == res['seed'] and res['n_train'] == res['n_dev'] == res['k'], out.name
        search = res['lr_search']
        assert search['factors'] == [0.1, 1.0, 10.0] and search['chosen'] == choose_lr(search['candidates'], res['select_metric'])['factor']
        main_lr = read_json(out/'config.json')['method']['lr']
        for c in search['candidates']:   # every candidate is a finished run of its own, judged on dev only, at the scaled rate
            if c.get('diverged'): assert c['factor'] != search['chosen']; continue
            sub = finished_run(out/'lr'/f"x{c['factor']:g}", weights=False)
            assert sub['test_evaluated'] is False and sub['test'] is None
            assert abs(read_json(out/'lr'/f"x{c['factor']:g}"/'config.json')['method']['lr'] - main_lr * c['factor']) < 1e-12
        preds = predictions(out)
        assert len(preds) == res['n_test'] and all('initial' in p for p in preds)
        assert abs(res['test_initial']['accuracy'] - sum(p['initial'] == p['label'] for p in preds) / len(preds)) < 1e-9

def test_tables_and_readme_are_what_the_committed_runs_give(tmp_path):
    from baasprompt.fewshot import write_fewshot
    for sub in ('results/fewshot/runs', 'results/quick/tables', 'paper', 'reproduce'):
        shutil.copytree(ROOT/sub, tmp_path/sub, ignore=shutil.ignore_patterns('*.safetensors', 'ckpt', '.*.lock'))
    written = write_fewshot(tmp_path)
    for name in ('runs.csv', 'comparisons.csv', 'fewshot.md', 'verdicts.md'):
        assert (tmp_path/'results/fewshot/tables'/name).read_text() == (ROOT/'results/fewshot/tables'/name).read_text(), name
    readme = (ROOT/'README.md').read_text()
    for lines in written['claims'].values():
        for line in lines: assert line in readme, line

def test_an_episode_and_its_search_through_the_cli(tmp_path):
    out = tmp_path/'run'
    rc, stdout, _ = cli('train', '--method', 'prompt-tuning', '--model', 'tiny-bert', '--dataset', 'arc_easy', '--profile', 'smoke', '--output', out,
                        '--set', 'k=6', 'train_limit=none', 'dev_limit=none', 'lr_factors=0.5,2', 'test_initial=true', '--json')
    assert rc == 0
    res = results(out)
    assert (res['n_train'], res['n_dev'], res['k'], res['episode']) == (6, 6, 6, 0)
    assert [c['factor'] for c in res['lr_search']['candidates']] == [0.5, 2.0] and 'test_initial' in res
    # another episode draws other questions; the test set stays the same
    rc, _, _ = cli('train', '--method', 'prompt-tuning', '--model', 'tiny-bert', '--dataset', 'arc_easy', '--profile', 'smoke', '--seed', 1,
                   '--output', tmp_path/'run1', '--set', 'k=6', 'train_limit=none', 'dev_limit=none')
    assert rc == 0
    assert results(tmp_path/'run1')['data_digest']['test'] == res['data_digest']['test'] != None
    assert results(tmp_path/'run1')['data_digest']['train'] != res['data_digest']['train']

@pytest.mark.parametrize('sets, message', [
    (['k=4'], 'train_limit and dev_limit do not apply'),
    (['lr_factors=0.1,x'], 'lr_factors must be distinct positive numbers'),
    (['lr_factors=1,1'], 'lr_factors must be distinct positive numbers'),
    (['patience=-1'], 'patience must be ≥ 0'),
])
def test_bad_fewshot_options_are_one_line(sets, message, tmp_path):
    rc, _, err = cli('train', '--method', 'prompt-tuning', '--model', 'tiny-bert', '--profile', 'smoke', '--output', tmp_path/'r', '--set', *sets)
    assert rc != 0 and message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err

def test_a_search_resumes_at_the_candidate_it_stopped_at(tmp_path):
    cfg, mcfg = resolve_config('prompt-tuning', 'tiny-bert', 'sciq', 'smoke',
                               overrides={'k': '8', 'train_limit': 'none', 'dev_limit': 'none', 'epochs': '2', 'lr_factors': '0.1,1,10', 'test_initial': 'true'})
    said = []
    first = train(cfg, mcfg, tmp_path/'run', log=said.append)
    # as if stopped after the first candidate: the run's results and the later candidates are gone
    (tmp_path/'run'/'results.json').unlink()
    for f in ('x1', 'x10'): shutil.rmtree(tmp_path/'run'/'lr'/f)
    said = []
    again = train(cfg, mcfg, tmp_path/'run', resume=True, log=said.append)
    assert sum('finished run with the same config; not run again' in s for s in said) == 1   # the first candidate is reused, not retrained
    assert again['test'] == first['test'] and again['test_initial'] == first['test_initial'] and again['lr_search']['chosen'] == first['lr_search']['chosen']

def test_paired_comparisons_on_synthetic_runs(tmp_path):
    "compare / compare_across_k read the run folders and pair on test questions: known answers on made-up predictions."
    import pandas as pd
    from baasprompt.fewshot import compare, compare_across_k, difference_parts
    rows, n = [], 40
    def run(label, k, e, right):   # a run that answers the first `right` of n questions correctly (label 0), and started with none right
        name = f'{label}__k{k}__e{e}'
        (tmp_path/'results/fewshot/runs'/name).mkdir(parents=True)
        (tmp_path/'results/fewshot/runs'/name/'predictions.jsonl').write_text(''.join(
            json.dumps({'id': f'q{i}', 'prediction': 0 if i < right else 1, 'label': 0, 'initial': 1}) + '\n' for i in range(n)))
        rows.append({'label': label, 'method': label.split('[')[0], 'k': k, 'episode': e, 'dataset': 'arc_easy', 'run': name})
    for e in (0, 1):
        run('baasprompt', 16, e, 30); run('baasprompt[prefix_init=random]', 16, e, 20)   # +0.25 at K=16
        run('baasprompt', 64, e, 30); run('baasprompt[prefix_init=random]', 64, e, 28)   # +0.05 at K=64
    df = pd.DataFrame(rows)
    c16 = compare(df, 'baasprompt', 'baasprompt[prefix_init=random]', 16, tmp_path)
    assert abs(c16['diff'] - 0.25) < 1e-12 and c16['episodes'] == 2 and c16['verdict'] == 'confirmed'
    assert difference_parts(df, 'baasprompt', 'initial', 64, tmp_path)['arc_easy'].mean() == 0.75   # trained minus its own start
    across = compare_across_k(df, 'baasprompt', 'baasprompt[prefix_init=random]', (16, 64), tmp_path)
    assert abs(across['diff'] - 0.20) < 1e-12 and across['verdict'] == 'confirmed' and across['k'] == '16 vs 64'

def test_a_candidate_that_diverges_is_left_out_not_the_run(tmp_path, monkeypatch):
    import baasprompt.train as T
    real_loss, real_train, state = T.mcq_loss, T._train, {'nan': False}
    def train_marking(cfg, mcfg, out, *a, **kw):   # the x10 candidate's loss turns NaN
        state['nan'] = out.name == 'x10'
        return real_train(cfg, mcfg, out, *a, **kw)
    monkeypatch.setattr(T, '_train', train_marking)
    monkeypatch.setattr(T, 'mcq_loss', lambda s, l: real_loss(s, l) * (float('nan') if state['nan'] else 1.0))
    cfg, mcfg = resolve_config('prompt-tuning', 'tiny-bert', 'sciq', 'smoke',
                               overrides={'k': '8', 'train_limit': 'none', 'dev_limit': 'none', 'epochs': '2', 'lr_factors': '1,10'})
    res = T.train(cfg, mcfg, tmp_path/'run', log=lambda *a: None)
    x10 = next(c for c in res['lr_search']['candidates'] if c['factor'] == 10)
    assert 'loss became NaN' in x10['diverged'] and res['lr_search']['chosen'] == 1.0 and res['test']['n'] == 8
    monkeypatch.setattr(T, 'mcq_loss', lambda s, l: real_loss(s, l) * float('nan'))   # every candidate diverges: the run stops, saying so
    with pytest.raises(T.TrainingDiverged, match=r'every learning-rate candidate diverged \(x1, x10\)'):
        T.train(cfg, mcfg, tmp_path/'all', log=lambda *a: None)

def test_the_committed_runs_are_the_whole_grid():
    "Done when `results/fewshot/` holds every run of the grid: nothing missing, and no folder of a run the grid no longer has (the cut dataset's went with it)."
    names = {s.name for s in grid('fewshot')}
    assert not names - {p.name for p in COMMITTED}, f"grid runs not committed: {sorted(names - {p.name for p in COMMITTED})[:5]}"
    assert not {p.name for p in RUNS.iterdir() if p.is_dir()} - names
    assert set(pd.read_csv(ROOT/'results/fewshot/tables/runs.csv')['run']) == names
