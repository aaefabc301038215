"""`chains`: the Auto-CoT chain stage with the local writer, cold against warm."""
import json, os, tempfile, time
from pathlib import Path
from bench import section, run_child
from .common import _child_result, _threads_one

def child_chains(spec: dict) -> dict:
    "The Auto-CoT chain stage with the local SmolLM2 writer on a given cache folder; counts calls, tokens and seconds."
    t0, load0 = time.time(), os.getloadavg()
    _threads_one()
    from baasprompt.data import load_mcq
    from baasprompt.chains import build_global_chain_texts
    from baasprompt.llm import make_writer
    rows = [dict(r) for r in load_mcq('sciq', 'train', limit=spec['n_rows'])]
    runs = []
    for rep in range(spec.get('repeats', 1)):
        writer = make_writer('local', folder=spec['folder'], verbose=False)
        gen = {'seconds': 0.0}
        orig = writer._generate
        def timed(*a, **k):   # instrumentation: time inside the LLM (model load on the first call included)
            t = time.perf_counter()
            try: return orig(*a, **k)
            finally: gen['seconds'] += time.perf_counter() - t
        writer._generate = timed
        t = time.perf_counter()
        chain = build_global_chain_texts(rows, writer, k=spec['k'], seed=0, max_tokens=spec['max_tokens'],
                                         max_candidates=spec['max_candidates'])
        runs.append({'seconds': round(time.perf_counter() - t, 3), 'llm_seconds': round(gen['seconds'], 3), **writer.stats,
                     'n_steps': chain.n_steps, 'steps_hash': __import__('hashlib').sha256(json.dumps(chain.steps).encode()).hexdigest()[:16],
                     'cache_entries': sum(1 for _ in Path(spec['folder']).rglob('*.json'))})
    return _child_result({'runs': runs, 'n_rows': len(rows)}, t0, load0)

@section('chains', children={'chains': child_chains})
def section_chains(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['chains']
    with tempfile.TemporaryDirectory(prefix='bench-llm-cache-') as folder:
        spec = {**st, 'folder': folder}
        cold = run_child('chains', {**spec, 'repeats': 2}, logs, 'chains-cold')        # run 1 cold, run 2 warm in the same process
        warm = run_child('chains', {**spec, 'repeats': 1}, logs, 'chains-warm')        # warm again in a new process
    c, w_same, w_new = cold['runs'][0], cold['runs'][1], warm['runs'][0]
    for w in (w_same, w_new):
        assert w['calls'] == 0, f"a warm chain cache made {w['calls']} LLM calls"
        assert w['steps_hash'] == c['steps_hash'], 'the warm chain differs from the cold one'
    print(f"  cold {c['seconds']:.1f} s ({c['calls']} calls, {c['prompt_tokens']}+{c['completion_tokens']} tokens); warm {w_same['seconds']:.2f} s "
          f"same process, {w_new['seconds']:.2f} s new process ({w_new['calls']} calls, {w_new['cache_hits']} hits)", flush=True)
    return {'settings': {**st, 'writer': 'local (SmolLM2-135M-Instruct, 1 thread)', 'data': f"SciQ train, first {st['n_rows']} (hash-of-id order)",
                         'cache': 'a fresh temporary BAASPROMPT-LLM cache folder'},
            'cold': c, 'warm_same_process': w_same, 'warm_new_process': w_new, 'warm_calls': w_same['calls'] + w_new['calls'],
            'child_meta': {'cold_process': {k: cold[k] for k in ('loadavg_start', 'loadavg_end', 'torch_threads', 'rss_peak_mb')},
                           'warm_process': {k: warm[k] for k in ('loadavg_start', 'loadavg_end', 'torch_threads', 'rss_peak_mb')}}}
