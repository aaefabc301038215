"""Does every method learn? Train each trainable method on `minilm` and a few hundred real training questions,
through the same loop as everything else, and record its per-epoch training loss, dev accuracy and test accuracy.

    .venv/bin/python benchmarks/learning_check.py [--dataset sciq] [--train-limit 400] [--epochs 3] [--methods ...]

Writes benchmarks/results/learning_check.json and .md. Runs are kept in runs/learning_check/ and skipped when finished,
so an interrupted check resumes where it stopped."""
import argparse, json, sys, time
from pathlib import Path
from baasprompt.core import atomic_write, atomic_write_json
from baasprompt.train import resolve_config, train, run_name
from baasprompt.reproduce import uniform_guess_accuracy

ROOT = Path(__file__).resolve().parent.parent
METHODS = ['prompt-tuning', 'prefix-tuning', 'p-tuning', 'p-tuning-v2', 'baasprompt', 'lora', 'full', 'head-only']

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='sciq'); ap.add_argument('--model', default='minilm')
    ap.add_argument('--train-limit', type=int, default=400); ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--methods', nargs='*', default=METHODS); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--profile', default='demo'); ap.add_argument('--set', nargs='*', default=[])
    args = ap.parse_args(argv)
    rows = []
    for method in args.methods:
        over = {'train_limit': args.train_limit, 'epochs': args.epochs, 'dev_limit': None, 'test_limit': None,
                **dict(s.split('=', 1) for s in args.set)}
        cfg, mcfg = resolve_config(method, args.model, args.dataset, args.profile, args.seed, over)
        out = ROOT/'runs'/'learning_check'/run_name(cfg)
        t = time.time()
        res = train(cfg, mcfg, out, resume=True)
        losses = [json.loads(l)['train_loss'] for l in open(out/'metrics.jsonl')]
        dev = [json.loads(l)['dev']['accuracy'] for l in open(out/'metrics.jsonl')]
        chance = uniform_guess_accuracy(out/'predictions.jsonl')   # as the tables' chance check (mixed option counts)
        lo, hi = res['test']['accuracy_ci95']
        rows.append({'method': method, 'lr': mcfg.lr, 'head_lr': res['learning_rates']['head'], 'train_loss': losses, 'loss_falls': losses[-1] < losses[0],
                     'dev_accuracy': dev, 'test_accuracy': res['test']['accuracy'], 'test_accuracy_ci95': [lo, hi],
                     'test_f1_macro': res['test']['f1_macro'], 'chance': chance, 'above_chance': lo > chance,
                     'trainable_params': res['trainable_params'], 'train_seconds': res['train_seconds']})
        print(f"{method:14} loss {' → '.join(f'{x:.3f}' for x in losses)}  test acc {res['test']['accuracy']:.3f} "
              f"[{lo:.3f}, {hi:.3f}] (chance {chance:.2f})  {time.time() - t:.0f}s", flush=True)
    meta = {'model': args.model, 'dataset': args.dataset, 'profile': args.profile, 'seed': args.seed,
            'train_limit': args.train_limit, 'epochs': args.epochs, 'n_dev': res['n_dev'], 'n_test': res['n_test'],
            'max_len': cfg.max_len, 'batch_size': cfg.batch_size}
    atomic_write_json(ROOT/'benchmarks'/'results'/'learning_check.json', {'settings': meta, 'runs': rows})
    lines = [f"Learning check: `{args.model}` on `{args.dataset}`, {args.train_limit} training questions, {args.epochs} epochs, "
             f"profile `{args.profile}` (max_len {cfg.max_len}, batch {cfg.batch_size}), seed {args.seed}; "
             f"dev {res['n_dev']}, test {res['n_test']} questions.", '',
             '| method | lr | head lr | train loss by epoch | best dev acc | loss falls | test accuracy [95% CI] | above chance | trainable |', '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lo, hi = r['test_accuracy_ci95']
        lines.append(f"| {r['method']} | {r['lr']:g} | {r['head_lr']:g} | {' → '.join(f'{x:.3f}' for x in r['train_loss'])} | {max(r['dev_accuracy']):.3f} | {'yes' if r['loss_falls'] else 'NO'} | "
                     f"{r['test_accuracy']:.3f} [{lo:.3f}, {hi:.3f}] | {'yes' if r['above_chance'] else 'no'} (chance {r['chance']:.2f}) | {r['trainable_params']:,} |")
    atomic_write(ROOT/'benchmarks'/'results'/'learning_check.md', '\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0 if all(r['loss_falls'] for r in rows) else 1

if __name__ == '__main__':
    sys.exit(main())
