"""`predict`: inference throughput of `predict_rows` on two smoke runs."""
import os, tempfile, time
from pathlib import Path
from bench import section, run_child
from .common import _child_result, _threads_one

def child_predict(spec: dict) -> dict:
    "Train smoke runs (head-only, prompt tuning), then time `load_run` and `predict_rows` on SciQ and DREAM questions."
    t0, load0 = time.time(), os.getloadavg()
    _threads_one()
    from baasprompt.train import resolve_config, train
    from baasprompt.predict import load_run, predict_rows
    from baasprompt.data import load_mcq
    sets = {'sciq': ([dict(r) for r in load_mcq('sciq', 'test')] + [dict(r) for r in load_mcq('sciq', 'dev')])[:spec['n_sciq']],
            'dream': [dict(r) for r in load_mcq('dream', 'test', limit=spec['n_dream'])]}
    out = {'runs': {}}
    for method in ('head-only', 'prompt-tuning'):
        cfg, mcfg = resolve_config(method, 'minilm', 'sciq', 'smoke', 0, {'scorer': 'head'} if method == 'head-only' else {})
        run_dir = Path(spec['tmp'])/method
        t = time.perf_counter()
        res = train(cfg, mcfg, run_dir, log=lambda *a: None)
        r = {'train_wall_seconds': round(time.perf_counter() - t, 2), 'train_seconds': res['train_seconds'],
             'max_len': cfg.max_len, 'profile': 'smoke', 'test_accuracy_smoke': res['test']['accuracy']}
        t = time.perf_counter(); run = load_run(run_dir); r['load_run_seconds'] = round(time.perf_counter() - t, 3)
        for name, rows in sets.items():
            predict_rows(run, rows[:16])                        # warm-up: first-call allocations
            t = time.perf_counter(); preds = predict_rows(run, rows); s = time.perf_counter() - t
            assert len(preds) == len(rows)
            r[name] = {'questions': len(rows), 'seconds': round(s, 3), 'questions_per_s': round(len(rows) / s, 2),
                       'accuracy': round(sum(p['prediction'] == p['label'] for p in preds) / len(preds), 3)}
        out['runs'][method] = r
    return _child_result(out, t0, load0)

@section('predict', children={'predict': child_predict})
def section_predict(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['predict']
    with tempfile.TemporaryDirectory(prefix='bench-predict-') as tmp:
        r = run_child('predict', {**st, 'tmp': tmp}, logs, 'predict')
    for m, v in r['runs'].items():
        print(f"  {m:14} load_run {v['load_run_seconds']:.2f} s; " +
              '  '.join(f"{d} {v[d]['questions_per_s']:.1f} q/s" for d in ('sciq', 'dream')), flush=True)
    return {'settings': {**st, 'runs': "trained with resolve_config(method, 'minilm', 'sciq', 'smoke') + train() (16 questions, max_len 64)",
                         'data': 'SciQ test + dev (4 choices), DREAM test (3 choices, dialogue context truncated to the run\'s max_len)',
                         'batch_size': 16, 'timing': 'predict_rows over all questions after a 16-question warm-up call'},
            **r}
