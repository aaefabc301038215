"""`scoring`: what a question costs under each scorer (`head`, `similarity`, `likelihood` shared context or per option)."""
import os, time
from pathlib import Path
from bench import section, run_child
from .common import _child_result, long_sciq_rows, _threads_one, _median

def child_scoring(spec: dict) -> dict:
    """Cost of one question under each scorer. `minilm` prompt tuning: a training step (forward, backward, AdamW) with
    `head` (one sequence per option) against `similarity` (one query, options cached) at the same total length.
    `smollm2-135m` likelihood: the shared context (one pass, its cache expanded over the options) against one sequence per
    option, scoring (no gradient) and a prompt-tuning training step, at the lengths of real questions."""
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    from baasprompt.backbones import load_backbone
    from baasprompt.scoring import mcq_loss
    from baasprompt.config import resolve_config, build_run
    rows = {k: v for k, v in spec['rows'].items()}
    def timed(fn, reps):
        fn(); out = []
        for _ in range(reps): t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
        return _median(out)
    def make(model, scorer, max_len, batch_rows, **kw):
        cfg, mcfg = resolve_config('prompt-tuning', model, 'sciq', 'demo', 0,
                                   {'num_virtual_tokens': spec['prompt_len'], 'max_len': max_len, 'scorer': scorer, 'dropout': 0.1})
        bb = load_backbone(model, lm_head=scorer == 'likelihood')
        torch.manual_seed(0)
        run = build_run(cfg, mcfg, backbone=bb, **kw)
        return run.scorer, run.collator(batch_rows)
    def train_step(s, b):
        opt = torch.optim.AdamW([p for p in s.parameters() if p.requires_grad], lr=1e-3)
        def step():
            s.train(); loss = mcq_loss(s(b), b['labels']); loss.backward(); opt.step(); opt.zero_grad()
        return step
    def score(s, b):
        def fn():
            s.eval()
            with torch.no_grad(): s(b)
        return fn
    out = {'encoder': {}, 'decoder': {}}
    enc_rows = rows['sciq'][:spec['batch']]
    for scorer in ('head', 'similarity'):
        s, b = make('minilm', scorer, spec['total_len'], enc_rows)
        out['encoder'][scorer] = {'step_median_s': round(timed(train_step(s, b), spec['reps']), 4), 'questions': len(enc_rows),
                                  'total_len': spec['total_len']}
    out['encoder']['ratio'] = round(out['encoder']['similarity']['step_median_s'] / out['encoder']['head']['step_median_s'], 3)
    for ds, max_len in spec['decoder_lengths'].items():
        dec_rows = rows[ds][:spec['decoder_batch']]
        r = {'max_len': max_len, 'questions': len(dec_rows)}
        scores = {}
        for shared in (True, False):
            s, b = make('smollm2-135m', 'likelihood', max_len, dec_rows, shared_context=shared)
            key = 'shared' if shared else 'per_option'
            r[key] = {'score_median_s': round(timed(score(s, b), spec['reps']), 3),
                      'step_median_s': round(timed(train_step(s, b), max(1, spec['reps'] - 1)), 3),
                      'context_tokens': int(b['context_len'].sum()), 'option_tokens': int(b['option_mask'].sum())}
            s.eval()
            with torch.no_grad(): scores[key] = s(b)
        r['max_abs_score_difference'] = float((scores['shared'] - scores['per_option']).abs().max())
        r['score_ratio'] = round(r['shared']['score_median_s'] / r['per_option']['score_median_s'], 3)
        r['step_ratio'] = round(r['shared']['step_median_s'] / r['per_option']['step_median_s'], 3)
        out['decoder'][ds] = r
    return _child_result(out, t0, load0)

@section('scoring', children={'scoring': child_scoring})
def section_scoring(S: dict, out_dir: Path, logs: Path) -> dict:
    from baasprompt.data import load_mcq
    st = S['scoring']
    rows = {'sciq': long_sciq_rows(st['batch']),
            'dream': [dict(r) for r in load_mcq('dream', 'test', limit=st['decoder_batch'])]}
    rows['sciq'] = rows['sciq'][:max(st['batch'], st['decoder_batch'])]
    res = run_child('scoring', {**st, 'rows': rows}, logs, 'scoring')
    return {'settings': st, **res}
