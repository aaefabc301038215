"""`collate`: what the input pipeline costs per question at the paper's shapes, against one paper-profile training step.

Before: the collator tokenizes every batch (`MCQCollator(...)(rows)`). After: `MCQCollator.tokenize` once per run, then the
collator only pads the pre-encoded items of each batch (`encoder(items)`), as `train()` does. What every step pays is the
collator; tokenizing once is paid before the first epoch, like loading the model."""
import os, time
from pathlib import Path
from bench import section, run_child
from .common import _child_result, _threads_one, _median, paper_rows
from .steps import child_steps

def _per_question(fn, n: int, reps: int) -> float:
    "Median over `reps` calls of `fn` (after one warm-up call) of its seconds per question."
    fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) / n)
    return _median(out)

def pipeline_costs(encoder, rows: list, batch: int, reps: int, modes=('before', 'after')) -> dict:
    """Seconds per question of each way to feed `rows` to a model in micro-batches of `batch`. `modes=('before',)` times a
    library without `MCQCollator.tokenize` (as before #24), which is how the collator of that version was measured."""
    n = len(rows)
    batches = lambda xs: [xs[i:i + batch] for i in range(0, n, batch)]
    out = {}
    if 'before' in modes:
        out['before_s'] = _per_question(lambda: [encoder(b) for b in batches(rows)], n, reps)
    if 'after' in modes:
        items = encoder.tokenize(rows)
        out['tokenize_once_s'] = _per_question(lambda: encoder.tokenize(rows), n, reps)
        out['collate_s'] = _per_question(lambda: [encoder(b) for b in batches(items)], n, reps)
    return out

def child_collate(spec: dict) -> dict:
    """The pipeline at the paper's shapes (max_len and micro-batch of the paper profile, prompt tuning's virtual tokens, 4 options,
    700-word contexts, minilm's tokenizer) for the `head` and `similarity` layouts; then prompt tuning's training step on the CPU
    stand-ins at the same shapes (fp32), so that the pipeline's share of a step can be stated."""
    t0, load0 = time.time(), os.getloadavg()
    _threads_one()
    from transformers import AutoTokenizer
    from baasprompt.backbones import BACKBONES, model_dir
    from baasprompt.config import PROFILES, resolve_config
    from baasprompt.scoring import MCQCollator
    paper = PROFILES['paper']['train']
    B, T = paper['batch_size'], paper['max_len']
    V = resolve_config('prompt-tuning', 'minilm', 'sciq', 'paper')[1].num_virtual_tokens
    tok = AutoTokenizer.from_pretrained(model_dir(BACKBONES['minilm']))
    rows = paper_rows(spec['questions'])
    out = {'micro_batch': B, 'max_len': T, 'virtual_tokens': V, 'questions': len(rows), 'pipeline': {}, 'steps': {}}
    for scorer in ('head', 'similarity'):
        enc = MCQCollator(tok, 'encoder', scorer=scorer, max_len=T, n_choices=4, virtual_tokens=V)
        out['pipeline'][scorer] = pipeline_costs(enc, rows, B, spec['reps'])
    for backbone, s in spec['steps'].items():
        batch = s['batch'] or B
        r = child_steps(dict(name='prompt-tuning', method='prompt-tuning', overrides={}, backbone=backbone, rows=paper_rows(batch),
                             total_len=T, warmup=s['warmup'], timed=s['timed'], paired_floor=False, floor_every=1, profile=False,
                             settings_profile='paper'))
        out['steps'][backbone] = {'questions': batch, 'step_median_s': r['step_median_s'], 'per_question_s': r['step_median_s'] / batch,
                                  'step_seconds_all': r['step_seconds_all'], 'backbone_params': r['backbone_params']}
    head = out['pipeline']['head']
    for backbone, s in out['steps'].items():
        s['share'] = {k.removesuffix('_s'): v / s['per_question_s'] for k, v in head.items()}
    return _child_result(out, t0, load0)

@section('collate', children={'collate': child_collate})
def section_collate(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['collate']
    res = run_child('collate', st, logs, 'collate')
    for scorer, p in res['pipeline'].items():
        print(f"  {scorer:10} before {p['before_s'] * 1e3:.2f} ms/question; after: tokenize once {p['tokenize_once_s'] * 1e3:.2f}, "
              f"collate {p['collate_s'] * 1e3:.3f} ms/question", flush=True)
    for backbone, s in res['steps'].items():
        sh = s['share']
        print(f"  {backbone:16} step {s['per_question_s']:.3f} s/question; pipeline per step: before {sh['before'] * 100:.2f} %, "
              f"after {sh['collate'] * 100:.3f} % (tokenizing once: {sh['tokenize_once'] * 100:.2f} % of the first epoch)", flush=True)
    return {'settings': {**st, 'how': "700-word contexts (tests/test_paper_profile.py), 4 options, minilm's tokenizer; medians over "
                                      "`reps` passes over `questions` questions in micro-batches of the paper profile; the step is "
                                      "prompt tuning's (steps.child_steps, paper settings, fp32, one thread)"}, **res}
