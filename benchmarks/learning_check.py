"""Does training add to what the frozen backbone already knows? Every method of the registry that fits the backbone's
own scorer (similarity for `minilm`, likelihood for `smollm2-135m`) trains through the same loop as everything else,
next to zero-shot, on a few hundred real questions; each records its per-epoch loss, dev accuracy before and after
training, test accuracy with its 95 % interval, and the paired difference to zero-shot on the same test questions.

    .venv/bin/python benchmarks/learning_check.py [--checks minilm/sciq minilm/dream smollm2-135m/arc_easy] [--methods ...]

Writes benchmarks/results/learning_check.json and .md. Runs are kept in runs/learning_check/ and skipped when finished,
so an interrupted check resumes where it stopped."""
import argparse, json, sys, time
from pathlib import Path
from baasprompt.core import atomic_write, atomic_write_json
from baasprompt.methods import METHODS
from baasprompt.train import resolve_config, train
from baasprompt.config import cfg_run_name
from baasprompt.report import uniform_guess_accuracy, paired_difference

ROOT = Path(__file__).resolve().parent.parent
# backbone/dataset -> run settings: inputs long enough that contexts fit (SciQ: 128 minilm tokens gives 0.769 zero-shot
# as 256 does; DREAM's dialogues need 256), the quick profile's CPU learning rates otherwise
CHECKS = {'minilm/sciq': dict(max_len=128, train_limit=160, epochs=3),
          'minilm/dream': dict(max_len=256, train_limit=160, epochs=3),
          'smollm2-135m/arc_easy': dict(max_len=128, train_limit=160, epochs=2)}
TARGETS = ('prompt-tuning', 'p-tuning-v2', 'baasprompt')   # each should reach zero-shot on dev; the best should beat it on test

def _predictions(run: Path):
    import pandas as pd
    rows = [json.loads(l) for l in open(run/'predictions.jsonl')]
    return pd.DataFrame({'id': [r['id'] for r in rows], 'correct': [r['prediction'] == r['label'] for r in rows]}).set_index('id')

def check(key: str, methods: list[str], seed: int, profile: str, extra: dict) -> dict:
    "Train every method of `methods` on one backbone/dataset; return the settings and one row per method."
    model, dataset = key.split('/')
    over = {'dev_limit': 60, 'test_limit': 200, **CHECKS[key], **extra}
    rows, runs = [], {}
    for method in ['zero-shot'] + [m for m in methods if m != 'zero-shot']:
        cfg, mcfg = resolve_config(method, model, dataset, profile, seed, over)
        if not METHODS[method].fits(cfg.scorer): continue   # head-only: no head to train under the backbone's own scorer
        out = ROOT/'runs'/'learning_check'/cfg_run_name(cfg)
        t = time.time()
        res = train(cfg, mcfg, out, resume=True, log=lambda *a: None)
        runs[method] = out
        hist = [json.loads(l) for l in open(out/'metrics.jsonl')] if (out/'metrics.jsonl').exists() else []
        lo, hi = res['test']['accuracy_ci95']
        d = paired_difference(_predictions(out), _predictions(runs['zero-shot']), seed=seed) if method != 'zero-shot' else (0.0, 0.0, 0.0)
        rows.append({'method': method, 'scorer': res['scorer'], 'lr': mcfg.lr, 'head_lr': res['learning_rates']['head'],
                     'train_loss': [h['train_loss'] for h in hist], 'dev_initial': res['dev_initial']['accuracy'],
                     'dev_accuracy': [h['dev']['accuracy'] for h in hist], 'test_accuracy': res['test']['accuracy'],
                     'test_accuracy_ci95': [lo, hi], 'vs_zero_shot': list(d), 'chance': uniform_guess_accuracy(out/'predictions.jsonl'),
                     'trainable_params': res['trainable_params'], 'train_seconds': res['train_seconds'], 'seconds': round(time.time() - t, 1)})
        r = rows[-1]
        print(f"{key:22} {method:14} dev {r['dev_initial']:.3f} → {max(r['dev_accuracy'], default=r['dev_initial']):.3f}  "
              f"test {r['test_accuracy']:.3f} [{lo:.3f}, {hi:.3f}]  vs zero-shot {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]  {r['seconds']:.0f}s", flush=True)
    return {'settings': {'model': model, 'dataset': dataset, 'profile': profile, 'seed': seed, **over, 'scorer': cfg.scorer,
                         'n_dev': res['n_dev'], 'n_test': res['n_test'], 'threads': __import__('torch').get_num_threads()},
            'runs': rows}

def targets(results: dict) -> list[str]:
    "One line per target: met or missed, with the numbers."
    lines, best_margin = [], []
    for key, c in results.items():
        by = {r['method']: r for r in c['runs']}
        zs = by['zero-shot']
        for m in TARGETS:
            if m not in by: continue
            best_dev = max(by[m]['dev_accuracy'], default=by[m]['dev_initial'])
            lines.append(f"- {key}, {m}: best dev {best_dev:.3f} vs zero-shot dev {zs['dev_initial']:.3f} — "
                         f"{'**met**' if best_dev >= zs['dev_initial'] else '**missed**'}")
        cand = [by[m] for m in TARGETS if m in by]
        if cand:
            b = max(cand, key=lambda r: r['test_accuracy'])
            half = (b['test_accuracy_ci95'][1] - b['test_accuracy_ci95'][0]) / 2
            best_margin.append((key, b['method'], b['test_accuracy'] - zs['test_accuracy'], half))
    hits = [x for x in best_margin if x[2] > x[3]]
    lines.append('- on at least one dataset, the best of them above zero-shot on test by more than its test CI half-width: '
                 + ('**met** (' if hits else '**missed** (')
                 + '; '.join(f"{k}: {m} {d:+.3f} vs half-width {h:.3f}" for k, m, d, h in best_margin) + ')')
    return lines

def write(results: dict) -> str:
    out = ROOT/'benchmarks'/'results'
    atomic_write_json(out/'learning_check.json', results)
    lines = ['# Learning check', '', 'Generated by `benchmarks/learning_check.py`: every method that fits the backbone\'s own scorer, next to '
             'zero-shot, through the same loop as the grid. "dev before" is the untrained method on dev (for zero-shot, zero-shot itself); '
             '"vs zero-shot" is the paired accuracy difference on the same test questions, with its 95 % bootstrap interval.', '',
             '## Targets', '', *targets(results)]
    for key, c in results.items():
        s = c['settings']
        lines += ['', f"## `{s['model']}` on `{s['dataset']}` (scorer `{s['scorer']}`)", '',
                  f"Profile `{s['profile']}` with max_len {s['max_len']}, {s['train_limit']} training questions × {s['epochs']} epochs, "
                  f"dev {s['n_dev']}, test {s['n_test']} questions, seed {s['seed']}, {s['threads']} thread(s).", '',
                  '| method | lr | head lr | train loss by epoch | dev before → best | test accuracy [95% CI] | vs zero-shot [95% CI] | trainable | training s |',
                  '|---|---|---|---|---|---|---|---|---|']
        for r in c['runs']:
            lo, hi = r['test_accuracy_ci95']; d = r['vs_zero_shot']
            loss = ' → '.join(f'{x:.3f}' for x in r['train_loss']) or '–'
            best = f"{max(r['dev_accuracy']):.3f}" if r['dev_accuracy'] else '–'
            vs = '–' if r['method'] == 'zero-shot' else f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"
            lrs = '– | –' if r['method'] == 'zero-shot' else f"{r['lr']:g} | {r['head_lr']:g}"   # zero-shot trains nothing
            lines.append(f"| {r['method']} | {lrs} | {loss} | {r['dev_initial']:.3f} → {best} | "
                         f"{r['test_accuracy']:.3f} [{lo:.3f}, {hi:.3f}] | {vs} | {r['trainable_params']:,} | {r['train_seconds']:.0f} |")
    text = '\n'.join(lines) + '\n'
    atomic_write(out/'learning_check.md', text)
    return text

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--checks', nargs='*', default=list(CHECKS), choices=list(CHECKS))
    ap.add_argument('--methods', nargs='*', default=None, help='default: every registered method')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--profile', default='quick')
    ap.add_argument('--set', nargs='*', default=[], help='extra run or method options, key=value')
    ap.add_argument('--render', action='store_true', help='only rewrite the .md from the saved .json')
    args = ap.parse_args(argv)
    path = ROOT/'benchmarks'/'results'/'learning_check.json'
    if args.render: print(write(json.loads(path.read_text()))); return 0
    methods = args.methods or list(METHODS)
    extra = dict(s.split('=', 1) for s in args.set)
    def saved():   # re-read before each write: checks may run in separate processes (one per core)
        old = json.loads(path.read_text()) if path.exists() else {}
        return {k: v for k, v in old.items() if k in CHECKS and 'runs' in v and 'settings' in v}
    for key in args.checks:
        done = check(key, methods, args.seed, args.profile, extra)
        text = write({**saved(), key: done})
    print(text)
    return 0

if __name__ == '__main__':
    sys.exit(main())
