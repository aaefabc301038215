"""Where the deep prompts start: dev accuracy of the *untrained* method (`dev_initial`) for each `init_weights`, against zero-shot.

Run from the project root: `.venv/bin/python results/quick/probes/deep_prompt_start.py`. Each measurement is a `quick`-profile run on
SciQ, seed 0, cut to 8 training questions and 1 epoch (the training is irrelevant: only the dev accuracy before it is read).
Writes `deep_prompt_start.json` beside this file."""
import json, tempfile
from pathlib import Path
from baasprompt.config import resolve_config
from baasprompt.train import train
from baasprompt.core import atomic_write_json

SMALL = {'train_limit': '8', 'test_limit': '8', 'epochs': '1'}
out = []
for model in ('minilm', 'smollm2-135m'):
    for method, init in (('zero-shot', None), ('p-tuning-v2', 'zero'), ('p-tuning-v2', 'random'), ('prefix-tuning', 'zero'), ('prefix-tuning', 'random')):
        cfg, mcfg = resolve_config(method, model=model, dataset='sciq', profile='quick',
                                   overrides={**SMALL, **({'init_weights': init} if init else {})})
        with tempfile.TemporaryDirectory() as d:
            r = train(cfg, mcfg, Path(d)/'run', log=lambda *a: None)
        row = {'model': model, 'method': method, 'init_weights': init, 'n_dev': r['n_dev'], 'dev_initial_accuracy': round(r['dev_initial']['accuracy'], 4)}
        print(row, flush=True); out.append(row)
atomic_write_json(Path(__file__).with_name('deep_prompt_start.json'), out)
