"""`topics`: each topic extractor against corpus size, cold and warm."""
import os, tempfile, time
from pathlib import Path
from bench import section, run_child
from .common import _child_result, _threads_one

def child_topics(spec: dict) -> dict:
    "Each topic extractor on one corpus size, cold (fresh BAASPROMPT_CACHE, first call in this process) then warm (again)."
    t0, load0 = time.time(), os.getloadavg()
    _threads_one()
    from baasprompt.data import load_mcq
    from baasprompt.backbones import load_backbone
    from baasprompt.topics import extract_topics, mcq_texts
    n = spec['size']
    csqa = list(load_mcq('commonsense_qa', 'train'))
    rows = csqa[:n]
    corpus = f'CommonsenseQA train, first {len(rows)} (hash-of-id order)'
    if n > len(csqa):
        dream = list(load_mcq('dream', 'train'))[:n - len(csqa)]
        rows = csqa + dream
        corpus = f'CommonsenseQA train (all {len(csqa)}) + DREAM train, first {len(dream)} (hash-of-id order)'
    if len(rows) != n: raise RuntimeError(f'only {len(rows)} questions for size {n}')
    texts = mcq_texts(rows)
    bb = load_backbone('minilm')
    E = bb.model.get_input_embeddings().weight.detach()
    out = {'size': n, 'corpus': corpus, 'mean_words': round(sum(len(t.split()) for t in texts) / n, 1),
           'cache_dir': os.environ.get('BAASPROMPT_CACHE'), 'methods': {}}
    for m in spec['methods']:
        res = {}
        for phase in ('cold', 'warm'):
            t = time.perf_counter()
            tw = extract_topics(m, texts, bb.tokenizer, E, n_topics=10, seed=0)
            res[f'{phase}_seconds'] = round(time.perf_counter() - t, 3)
        res['words'] = list(tw.words)
        out['methods'][m] = res
    return _child_result(out, t0, load0)

@section('topics', children={'topics': child_topics})
def section_topics(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['topics']
    res = []
    jobs = [(n, st['methods']) for n in st['sizes']]
    if st.get('csqa_full_tfqdfvs'): jobs.append((8722, ['tfqdfvs']))
    for n, methods in jobs:
        with tempfile.TemporaryDirectory(prefix='bench-topics-') as cache:
            r = run_child('topics', {'size': n, 'methods': methods}, logs, f'topics-{n}', BAASPROMPT_CACHE=cache)
        res.append(r)
        print(f"  {n:6} " + '  '.join(f"{m} {v['cold_seconds']:.1f}/{v['warm_seconds']:.1f} s" for m, v in r['methods'].items()) +
              f"  (cold/warm; load {r['loadavg_end'][0]})", flush=True)
    csqa = next(r for r in res if r['size'] == 8722)
    return {'settings': {**st, 'backbone': 'minilm (tokenizer + input embeddings)', 'n_topics': 10,
                         'cold': 'first call in a fresh process with BAASPROMPT_CACHE pointing at a new empty folder (SBERT embeddings of texts '
                                 'and candidate words are computed; model loads and imports included)',
                         'warm': 'the same call again in the same process and cache (cluster reads its SBERT embeddings from the disk cache)',
                         'corpora': '1k/3k: CommonsenseQA train (first N in hash-of-id order); 10k: all 8,722 CSQA train + the first 1,278 '
                                    'DREAM train questions (DREAM texts carry up to 150 words of dialogue); 8,722: the full CSQA train'},
            'runs': res, 'tfqdfvs_csqa_train_cold_seconds': csqa['methods']['tfqdfvs']['cold_seconds']}
