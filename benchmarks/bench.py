"""Speed and memory benchmarks of baasprompt: training-step time per method against a floor, our loop against HF Trainer + PEFT,
topic extractors, the chain stage cold and warm, inference throughput, two backbones, the scorers, the input pipeline, and the
GPU device check's dry run.

    .venv/bin/python benchmarks/bench.py [--quick] [--only SECTION ...] [--out DIR]

Sections: steps, trainer, topics, chains, predict, backbones, scoring, collate, gpu (default: all, in that order); then
`summary.md` and `step_time.png` are written from whatever section JSONs exist. `--quick` is a smoke check (fewer steps,
smaller sizes) and writes to benchmarks/results/quick/ so that it never overwrites the results of a full run.

Every measurement runs in its own child process (this script re-invoked with `_child`), one at a time, with
`torch.set_num_threads(1)` and OMP/MKL/OpenBLAS limited to one thread: the machine has 2 shared cores, and one thread
gives stable ratios (absolute times are single-thread figures). Peak memory is `ru_maxrss` of that child.

This file is the harness and the entry point; the sections live in `benchmarks/sections/`, one module each, and register
themselves (and the child functions they run) with the `@section(...)` decorator below.
"""
import argparse, contextlib, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path
from typing import Callable, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT/'benchmarks'/'results'
TARGETS = {'baasprompt_vs_prompt_tuning': 1.25, 'prompt_tuning_vs_floor': 1.15, 'ours_vs_trainer': 0.95,
           'deployed_ratio': 0.001, 'tfqdfvs_csqa_seconds': 60.0, 'warm_chain_calls': 0, 'similarity_vs_head': 0.4,
           'pipeline_share_of_step': 0.05}

# ---------------------------------------------------------------------------------------------------------------- settings
def settings(quick: bool) -> dict:
    "Sizes of every section: the full run, or a smoke check."
    if quick:
        return dict(steps=dict(batch=2, total_len=64, prompt_len=8, warmup=1, timed=3, floor_every=1,
                               configs=['floor', 'prompt-tuning', 'lora', 'baasprompt', 'baasprompt-none'],
                               profile=[]),
                    trainer=dict(batch=4, total_len=64, prompt_len=8, steps=3, order='AB'),
                    topics=dict(sizes=[1000], methods=['cluster', 'lda', 'tfqdfvs', 'random'], csqa_full_tfqdfvs=True),
                    chains=dict(n_rows=16, k=2, max_tokens=32, max_candidates=1),
                    predict=dict(n_sciq=32, n_dream=32),
                    backbones=dict(batch=1, total_len=64, prompt_len=8, warmup=1, timed=2, names=['minilm', 'smollm2-135m']),
                    scoring=dict(batch=2, total_len=64, prompt_len=8, reps=2, decoder_batch=1, decoder_lengths={'sciq': 128, 'dream': 256}),
                    # step batch None: the paper profile's micro-batch; random-bert-base's CPU step at it takes minutes
                    collate=dict(questions=64, reps=2, steps={'tiny-bert': dict(batch=None, warmup=1, timed=2),
                                                              'random-bert-base': dict(batch=1, warmup=0, timed=1)}),
                    gpu=dict(timeout_s=900))
    return dict(steps=dict(batch=8, total_len=128, prompt_len=20, warmup=2, timed=10, floor_every=2,
                           configs=['floor', 'prompt-tuning', 'p-tuning', 'prefix-tuning', 'p-tuning-v2', 'lora', 'full', 'head-only',
                                    'baasprompt', 'baasprompt-lstm', 'baasprompt-mlp', 'baasprompt-none', 'baasprompt-lora', 'zero-shot'],
                           profile=['floor', 'prompt-tuning', 'baasprompt']),
                trainer=dict(batch=8, total_len=128, prompt_len=20, steps=12, order='ABBA'),
                topics=dict(sizes=[1000, 3000, 10000], methods=['cluster', 'lda', 'tfqdfvs', 'random'], csqa_full_tfqdfvs=True),
                chains=dict(n_rows=40, k=2, max_tokens=64, max_candidates=2),
                predict=dict(n_sciq=200, n_dream=200),
                backbones=dict(batch=2, total_len=128, prompt_len=20, warmup=2, timed=10, names=['minilm', 'smollm2-135m']),
                scoring=dict(batch=8, total_len=128, prompt_len=20, reps=3, decoder_batch=2, decoder_lengths={'sciq': 384, 'dream': 512}),
                collate=dict(questions=256, reps=3, steps={'tiny-bert': dict(batch=None, warmup=2, timed=5),
                                                           # 2 questions: the paper's 16 x 4 x 512 needs more than 24 GiB for
                                                           # BERT-base's fp32 backward on the CPU; the share is per question
                                                           'random-bert-base': dict(batch=2, warmup=1, timed=2)}),
                gpu=dict(timeout_s=900))

# ---------------------------------------------------------------------------------------------------------------- machine
def child_env(**extra) -> dict:
    "Environment of every child: offline, one thread per library, data and caches where the Makefile puts them."
    env = dict(os.environ)
    env.setdefault('BAASPROMPT_DATA_DIR', str(ROOT.parent/'shared'/'data'))
    env.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', TOKENIZERS_PARALLELISM='false', OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', NUMEXPR_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    env.setdefault('BAASPROMPT_LLM_CACHE', str(ROOT/'llm_cache'))
    env.update({k: str(v) for k, v in extra.items()})
    return env

def machine_facts() -> dict:
    "Facts that change how figures read on a shared machine."
    import torch
    model = ''
    with contextlib.suppress(OSError):
        model = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '')
    mem = ''
    with contextlib.suppress(OSError):
        mem = round(int(next(l.split()[1] for l in open('/proc/meminfo') if l.startswith('MemTotal'))) / 2**20, 1)
    return {'cpu_count': os.cpu_count(), 'cpus_usable': len(os.sched_getaffinity(0)), 'cpu_model': model, 'mem_total_gib': mem,
            'torch': torch.__version__, 'torch_threads_children': 1, 'python': platform.python_version(),
            'platform': platform.platform(), 'nice': os.nice(0), 'loadavg_start': [round(x, 2) for x in os.getloadavg()],
            'git_commit': subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
            'git_dirty_library': bool(subprocess.run(['git', 'status', '--porcelain', 'baasprompt'], cwd=ROOT, capture_output=True, text=True).stdout.strip())}

def rss_peak_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def rss_now_mb() -> float:
    with contextlib.suppress(OSError):
        for l in open('/proc/self/status'):
            if l.startswith('VmRSS:'): return int(l.split()[1]) / 1024
    return float('nan')

def write_json(path: Path, obj) -> None:
    "Atomic: a temporary file beside `path`, then `os.replace`."
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    with os.fdopen(fd, 'w') as f: f.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + '\n')
    os.chmod(tmp, 0o644); os.replace(tmp, path)

def write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    with os.fdopen(fd, 'w') as f: f.write(text)
    os.chmod(tmp, 0o644); os.replace(tmp, path)

def run_child(func: str, spec: dict, log_dir: Path, tag: str, timeout: float = 1800, **env) -> dict:
    "Run `func(spec)` in a fresh process; return what it wrote. Its output goes to `log_dir/tag.log`."
    log_dir.mkdir(parents=True, exist_ok=True)
    spec_path, out_path, log = log_dir/f'{tag}.spec.json', log_dir/f'{tag}.out.json', log_dir/f'{tag}.log'
    spec_path.write_text(json.dumps(spec)); out_path.unlink(missing_ok=True)
    t = time.time()
    with open(log, 'w') as lf:
        p = subprocess.run([sys.executable, __file__, '_child', func, str(spec_path), str(out_path)], cwd=ROOT, env=child_env(**env),
                           stdout=lf, stderr=subprocess.STDOUT, timeout=timeout)
    wall = time.time() - t
    if p.returncode != 0 or not out_path.exists():
        tail = log.read_text()[-3000:]
        raise RuntimeError(f'child {func} ({tag}) failed with exit code {p.returncode} after {wall:.0f} s; log tail:\n{tail}')
    out = json.loads(out_path.read_text())
    out['process_wall_seconds'] = round(wall, 2)
    return out

# ---------------------------------------------------------------------------------------------------------------- registry
class Section(NamedTuple):
    name: str
    run: Callable          # run(S, out_dir, logs) -> dict: the section's JSON (without the machine facts the harness adds)
    children: dict         # key -> child(spec) -> dict, what `run_child(key, ...)` runs in a fresh process

REGISTRY: dict[str, Section] = {}   # in registration order, which is the order the sections run in

def section(name: str, children: dict | None = None):
    "Decorator: register `fn` as section `name`, with the child functions it runs by key (keys are global across sections)."
    children = dict(children or {})
    def register(fn):
        if name in REGISTRY: raise ValueError(f'section {name!r} is registered twice')
        taken = {k for s in REGISTRY.values() for k in s.children} & set(children)
        if taken: raise ValueError(f'section {name!r}: child keys {sorted(taken)} are registered by another section')
        REGISTRY[name] = Section(name, fn, children)
        return fn
    return register

# ---------------------------------------------------------------------------------------------------------------- summary
def _load(out_dir: Path, name: str):
    p = out_dir/f'{name}.json'
    return json.loads(p.read_text()) if p.exists() else None

def _ordered(st: dict) -> list[str]:
    "Config names in the order they were run (JSON keys are stored sorted)."
    return [n for n in st['settings']['configs'] if n in st['results']] + sorted(set(st['results']) - set(st['settings']['configs']))

def _verdict(ok: bool) -> str: return 'PASS' if ok else 'MISS'

def target_rows(out_dir: Path) -> list[tuple]:
    "(target, measured, limit, verdict, note) for every target whose section has results."
    rows = []
    st = _load(out_dir, 'steps')
    if st:
        R = st['results']
        pt = R.get('prompt-tuning')
        for name in [n for n in _ordered(st) if n.startswith('baasprompt')]:
            r = R[name]
            if pt and 'skipped' not in r:
                v = r['ratio_to_prompt_tuning_paired']
                rows.append((f'{name} step / prompt-tuning step (equal total length)', f'{v:.3f}×', '≤ 1.25×', _verdict(v <= 1.25),
                             f"across processes {r['ratio_to_prompt_tuning']:.3f}×" + ('' if name == 'baasprompt' else '; variant, informative')))
        if pt:
            v = pt['ratio_to_paired_floor']
            rows.append(('prompt-tuning step / floor', f'{v:.3f}×', '≤ 1.15×', _verdict(v <= 1.15), f"across processes {pt['ratio_to_floor']:.3f}×"))
        for name in ('prompt-tuning', 'p-tuning', 'prefix-tuning', 'p-tuning-v2', 'baasprompt', 'baasprompt-lora'):
            r = R.get(name)
            if r and 'skipped' not in r:
                v = r['deployed_ratio']
                note = {'prefix-tuning': 'deep prompt: L·2·H per virtual token', 'p-tuning-v2': 'deep prompt: L·2·H per virtual token',
                        'baasprompt-lora': 'includes the LoRA weights'}.get(name, '')
                rows.append((f'{name} deployed / backbone parameters', f"{v * 100:.3f} % ({r['deployed_params']:,})", '≤ 0.1 %',
                             _verdict(v <= 0.001), note))
    tr = _load(out_dir, 'trainer')
    if tr:
        s = tr['summary']
        note = f"{s['ours_questions_per_s']:.2f} vs {s['trainer_questions_per_s']:.2f} q/s"
        if 'ratio_loop_only' in s: note += f"; without train()'s in-epoch dev eval + checkpoint: {s['ratio_loop_only']:.3f}×"
        if 'ratio_median_step' in s: note += f"; median step period (robust to load spikes): {s['ratio_median_step']:.3f}×"
        rows.append(('our loop / Trainer+PEFT throughput (prompt tuning)', f"{s['ratio']:.3f}×", '≥ 0.95×', _verdict(s['ratio'] >= 0.95), note))
    tp = _load(out_dir, 'topics')
    if tp:
        v = tp['tfqdfvs_csqa_train_cold_seconds']
        rows.append(('TF-QDF-VS over CommonsenseQA train (8,722), cold', f'{v:.1f} s', '≤ 60 s', _verdict(v <= 60), '1 thread'))
    ch = _load(out_dir, 'chains')
    if ch:
        rows.append(('LLM calls made by a warm chain cache', str(ch['warm_calls']), '0', _verdict(ch['warm_calls'] == 0),
                     f"cold made {ch['cold']['calls']} calls"))
    sc = _load(out_dir, 'scoring')
    if sc:
        e = sc['encoder']
        rows.append(('prompt-tuning step: similarity / head (minilm, equal total length)', f"{e['ratio']:.3f}×", '< 0.4×', _verdict(e['ratio'] < 0.4),
                     f"{e['head']['step_median_s']:.3f} s vs {e['similarity']['step_median_s']:.3f} s for {e['head']['questions']} questions"))
    co = _load(out_dir, 'collate')
    if co:
        limit = TARGETS['pipeline_share_of_step']
        for backbone, step in co['steps'].items():
            sh = step['share']
            rows.append((f'input pipeline / prompt-tuning step, per question ({backbone}, paper shapes, 1 CPU thread)',
                         f"{sh['collate'] * 100:.3f} %", f'< {limit * 100:.0f} %', _verdict(sh['collate'] < limit),
                         f"collator only pads (tokenized once: {sh['tokenize_once'] * 100:.2f} % of the first epoch); tokenized in every "
                         f"batch before: {sh['before'] * 100:.2f} %" + ('' if backbone == 'random-bert-base' else '; tiny stand-in, informative')))
    gp = _load(out_dir, 'gpu')
    if gp:
        n_pass = sum(v == 'pass' for v in gp['status'].values())
        rows.append(('GPU device check, dry run on this CPU: stages that pass', f"{n_pass} of {len(gp['status'])}", 'all',
                     _verdict(n_pass == len(gp['status'])), f"{gp['wall_seconds']:.0f} s; benchmarks/gpu_check.sh run --dry"))
    return rows

def write_summary(out_dir: Path) -> Path:
    lines = ['# Benchmark summary', '',
             'Generated by `benchmarks/bench.py` from the section JSONs in this folder. Every measurement ran in its own process '
             'with `torch.set_num_threads(1)` (OMP/MKL/OpenBLAS 1 thread) on a shared 2-core machine; see each JSON for load averages.', '',
             '## Targets', '', '| target | measured | limit | verdict | note |', '|---|---|---|---|---|']
    lines += [f'| {a} | {b} | {c} | **{d}** | {e} |' for a, b, c, d, e in target_rows(out_dir)]
    st = _load(out_dir, 'steps')
    if st:
        S = st['settings']
        lines += ['', f"## Training step on `minilm` ({S['batch']} questions × 4 choices, total length {S['total_len']})", '',
                  S['equal_length'], '',
                  f"Median of {S['timed']} steps after {S['warmup']} warm-up steps. `×floor` = method / floor interleaved in the same process; "
                  "`×floor (x-proc)` = method / standalone floor process.", '',
                  '| config | step (s) | fwd / bwd / clip / opt (s) | ×floor | ×floor (x-proc) | questions/s | peak RSS (MB) | trainable | deployed (% backbone) |',
                  '|---|---|---|---|---|---|---|---|---|']
        for name in _ordered(st):
            r = st['results'][name]
            if 'skipped' in r: lines.append(f"| {name} | – | – | – | – | – | – | – | {r['skipped']} |"); continue
            ph = r['phases_median_s']
            lines.append(f"| {name} | {r['step_median_s']:.3f} | {ph['forward']:.3f} / {ph['backward']:.3f} / {ph['clip']:.4f} / {ph['optimizer']:.4f} | "
                         f"{r['ratio_to_paired_floor']:.3f} | {r['ratio_to_floor']:.3f} | {r['questions_per_s']:.2f} | {r['rss_peak_mb']:.0f} | "
                         f"{r['trainable_params']:,} | {r['deployed_params']:,} ({r['deployed_ratio'] * 100:.3f} %) |")
        f = st['results'].get('floor', {})
        if 'floor_eval_mode_median_s' in f:
            lines += ['', f"Floor with the backbone in eval mode (dropout off): {f['floor_eval_mode_median_s']:.3f} s vs {f['step_median_s']:.3f} s in train mode."]
    tr = _load(out_dir, 'trainer')
    if tr:
        S = tr['settings']
        lines += ['', f"## Our loop vs Trainer + PEFT (prompt tuning, {S['steps']} steps of {S['batch']} questions, length {S['total_len']})", '',
                  '| run | side | seconds | questions/s | median step period (s) | peak RSS (MB) | load avg start→end |', '|---|---|---|---|---|---|---|']
        for i, r in enumerate(tr['runs']):
            secs = r['train_seconds'] if r['side'] == 'ours' else r['train_runtime']
            lines.append(f"| {i} | {r['side']} | {secs:.2f} | {r['questions_per_s']:.2f} | {r.get('median_step_period_s', float('nan')):.3f} | "
                         f"{r['peak_memory_mb']:.0f} | {r['loadavg_start'][0]}→{r['loadavg_end'][0]} |")
        if any(r['side'] == 'ours' for r in tr['runs']):
            o = [r for r in tr['runs'] if r['side'] == 'ours']
            lines += ['', "Inside our `train_seconds`: " + '; '.join(
                f"run {tr['runs'].index(r)}: dev eval {r.get('dev_eval_seconds', float('nan')):.2f} s, checkpoint {r['instrumented_seconds']['save_checkpoint']:.2f} s" for r in o)]
    tp = _load(out_dir, 'topics')
    if tp:
        meths = tp['settings']['methods']
        lines += ['', '## Topic extractors (cold / warm seconds, 1 thread)', '', '| questions | corpus | ' + ' | '.join(meths) + ' |',
                  '|---|---|' + '---|' * len(meths)]
        for r in tp['runs']:
            cells = [f"{r['methods'][m]['cold_seconds']:.1f} / {r['methods'][m]['warm_seconds']:.1f}" if m in r['methods'] else '–' for m in meths]
            lines.append(f"| {r['size']:,} | {r['corpus']} | " + ' | '.join(cells) + ' |')
    ch = _load(out_dir, 'chains')
    if ch:
        lines += ['', f"## Chain stage (local SmolLM2 writer, k={ch['settings']['k']}, max_tokens={ch['settings']['max_tokens']})", '',
                  '| run | seconds | LLM seconds | calls | cache hits | prompt tokens | completion tokens |', '|---|---|---|---|---|---|---|']
        for k in ('cold', 'warm_same_process', 'warm_new_process'):
            r = ch[k]
            lines.append(f"| {k} | {r['seconds']:.2f} | {r['llm_seconds']:.2f} | {r['calls']} | {r['cache_hits']} | {r['prompt_tokens']} | {r['completion_tokens']} |")
    pr = _load(out_dir, 'predict')
    if pr:
        lines += ['', '## Inference (`predict_rows`, batch 16, smoke runs at max_len 64)', '',
                  '| run | load_run (s) | SciQ q/s | DREAM q/s |', '|---|---|---|---|']
        for m, v in pr['runs'].items():
            lines.append(f"| {m} | {v['load_run_seconds']:.2f} | {v['sciq']['questions_per_s']:.1f} ({v['sciq']['questions']}) | "
                         f"{v['dream']['questions_per_s']:.1f} ({v['dream']['questions']}) |")
    bk = _load(out_dir, 'backbones')
    if bk:
        S = bk['settings']
        lines += ['', f"## Backbones (prompt tuning, {S['batch']} questions × 4 choices, total length {S['total_len']})", '',
                  '| backbone | parameters | step (s) | questions/s | peak RSS (MB) | load (s) |', '|---|---|---|---|---|---|']
        for n, r in bk['results'].items():
            lines.append(f"| {n} | {r['backbone_params']:,} | {r['step_median_s']:.3f} | {r['questions_per_s']:.2f} | {r['rss_peak_mb']:.0f} | {r['load_seconds']:.1f} |")
        lines.append(f"\nstep ratio {bk['step_ratio']}×, peak memory ratio {bk['peak_memory_ratio']}×")
    sc = _load(out_dir, 'scoring')
    if sc:
        S = sc['settings']
        lines += ['', f"## Scorers (prompt tuning with {S['prompt_len']} virtual tokens; medians of {S['reps']} after a warm-up, 1 thread)", '',
                  f"`minilm`, a training step on {S['batch']} long SciQ questions × 4 options at total length {S['total_len']}: "
                  f"`head` {sc['encoder']['head']['step_median_s']:.3f} s, `similarity` {sc['encoder']['similarity']['step_median_s']:.3f} s "
                  f"(**{sc['encoder']['ratio']:.3f}×**: one query per question, the options' vectors cached).", '',
                  f"`smollm2-135m`, `likelihood` on {S['decoder_batch']} real questions × 4 options: shared context vs one sequence per option.", '',
                  '| dataset | max_len | context / option tokens | score: shared / per option (s) | ratio | training step: shared / per option (s) | ratio | max score difference |',
                  '|---|---|---|---|---|---|---|---|']
        for ds, r in sc['decoder'].items():
            lines.append(f"| {ds} | {r['max_len']} | {r['shared']['context_tokens']} / {r['shared']['option_tokens']} | "
                         f"{r['shared']['score_median_s']:.3f} / {r['per_option']['score_median_s']:.3f} | {r['score_ratio']:.3f}× | "
                         f"{r['shared']['step_median_s']:.3f} / {r['per_option']['step_median_s']:.3f} | {r['step_ratio']:.3f}× | {r['max_abs_score_difference']:.1e} |")
    co = _load(out_dir, 'collate')
    if co:
        lines += ['', f"## Input pipeline at the paper's shapes ({co['micro_batch']} questions per micro-batch, 4 options, max_len {co['max_len']}, "
                      f"{co['virtual_tokens']} virtual tokens, 700-word contexts; ms per question, 1 thread)", '',
                  '| layout | before: tokenized in every batch | after: tokenized once per run | after: padded in every batch |', '|---|---|---|---|']
        for scorer, p in co['pipeline'].items():
            lines.append(f"| {scorer} | {p['before_s'] * 1e3:.2f} | {p['tokenize_once_s'] * 1e3:.2f} | {p['collate_s'] * 1e3:.3f} |")
        lines += ['', '| prompt-tuning step on | questions | step per question (s) | share of a step: before | after | tokenizing once / first epoch |',
                  '|---|---|---|---|---|---|']
        for backbone, step in co['steps'].items():
            sh = step['share']
            lines.append(f"| {backbone} | {step['questions']} | {step['per_question_s']:.4f} | {sh['before'] * 100:.2f} % | "
                         f"{sh['collate'] * 100:.3f} % | {sh['tokenize_once'] * 100:.2f} % |")
    gp = _load(out_dir, 'gpu')
    if gp:
        lines += ['', f"## GPU device check, dry run ({gp['wall_seconds']:.0f} s on this CPU)", '',
                  ', '.join(f'`{n}` {v}' for n, v in gp['status'].items()) + '. The device run: `bash benchmarks/gpu_check.sh run` (see gpu_check.py).']
    path = out_dir/'summary.md'
    write_text(path, '\n'.join(lines) + '\n')
    return path

def write_figure(out_dir: Path) -> Path | None:
    st = _load(out_dir, 'steps')
    if not st: return None
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    R = {n: st['results'][n] for n in _ordered(st) if 'skipped' not in st['results'][n]}
    names = list(R)
    vals = [R[n]['ratio_to_paired_floor'] for n in names]
    xproc = [R[n]['ratio_to_floor'] for n in names]
    colors = ['#888888' if n == 'floor' else '#d62728' if n.startswith('baasprompt') else '#1f77b4' for n in names]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    xs = range(len(names))
    ax.bar(xs, vals, color=colors, label='step / floor (paired, same process)')
    ax.scatter(xs, xproc, color='black', marker='_', s=300, zorder=3, label='step / floor (separate processes)')
    for x, v, n in zip(xs, vals, names):
        ax.text(x, v + 0.03, f'{v:.2f}', ha='center', fontsize=8)
    ax.axhline(1.0, color='#555555', lw=1, ls=':', label='floor')
    ax.axhline(1.15, color='#2ca02c', lw=1.2, ls='--', label='target: prompt tuning ≤ 1.15× floor')
    if 'prompt-tuning' in R:
        lim = 1.25 * R['prompt-tuning']['ratio_to_paired_floor']
        ax.axhline(lim, color='#d62728', lw=1.2, ls='--', label=f'target: BaasPrompt ≤ 1.25× prompt tuning ({lim:.2f}× floor)')
    ax.set_xticks(list(xs)); ax.set_xticklabels(names, rotation=35, ha='right')
    S = st['settings']
    ax.set_ylabel('training-step time / floor')
    ax.set_title(f"Training step per method on minilm, {S['batch']} questions × 4 choices × {S['total_len']} tokens (1 thread)")
    ax.set_ylim(0, max(vals + xproc + [1.3]) * 1.45)
    ax.legend(fontsize=8, loc='upper right', ncol=2); ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    path = out_dir/'step_time.png'
    tmp = out_dir/'.step_time.png.tmp.png'
    fig.savefig(tmp, dpi=120); plt.close(fig); os.replace(tmp, path)
    return path

# ---------------------------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='smoke check: fewer steps and sizes (writes to results/quick/)')
    ap.add_argument('--only', nargs='+', choices=SECTIONS, default=None, metavar='SECTION', help=f'run only these: {", ".join(SECTIONS)}')
    ap.add_argument('--out', default=None, help='results folder (default benchmarks/results, or benchmarks/results/quick with --quick)')
    ap.add_argument('--summary-only', action='store_true', help='only rewrite summary.md and step_time.png from existing JSONs')
    args = ap.parse_args(argv)
    out_dir = Path(args.out) if args.out else (RESULTS/'quick' if args.quick else RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    S = settings(args.quick)
    t_all = time.time()
    if not args.summary_only:
        import torch; torch.set_num_threads(1)
        for k, v in child_env().items(): os.environ.setdefault(k, v)   # the parent only reads data and tokenizes
        for sec in (args.only or SECTIONS):
            facts = machine_facts()
            print(f"[{sec}] load average {facts['loadavg_start']}", flush=True)
            t = time.time()
            with tempfile.TemporaryDirectory(prefix=f'bench-{sec}-logs-') as logs:
                try: result = SECTION_FUNCS[sec](S, out_dir, Path(logs))
                except Exception as e:
                    print(f'[{sec}] FAILED: {e}', file=sys.stderr, flush=True); return 1
            facts['loadavg_end'] = [round(x, 2) for x in os.getloadavg()]
            result = {'section': sec, 'quick': args.quick, 'machine': facts, 'section_seconds': round(time.time() - t, 1),
                      'finished': time.strftime('%Y-%m-%d %H:%M:%S'), **result}
            write_json(out_dir/f'{sec}.json', result)
            print(f"[{sec}] {result['section_seconds']:.0f} s → {out_dir/f'{sec}.json'}", flush=True)
    print(f'summary → {write_summary(out_dir)}')
    fig = write_figure(out_dir)
    if fig: print(f'figure → {fig}')
    print((out_dir/'summary.md').read_text().split('\n## Training')[0])
    print(f'total {time.time() - t_all:.0f} s')
    return 0

def _child_main(func: str, spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    out = CHILDREN[func](spec)
    write_json(Path(out_path), out)
    return 0

# ---------------------------------------------------------------------------------------------------------------- sections
# The section modules do `from bench import section, run_child, ...`: alias this module as `bench` when it runs as a script, so
# that they register into this REGISTRY and not into a second copy; `benchmarks/` on sys.path makes `sections` importable.
sys.modules.setdefault('bench', sys.modules[__name__])
if str(HERE) not in sys.path: sys.path.insert(0, str(HERE))
import sections   # noqa: E402,F401  (registers every section, in the order of sections/__init__.py)
SECTIONS = tuple(REGISTRY)
SECTION_FUNCS = {n: s.run for n, s in REGISTRY.items()}
CHILDREN = {k: f for s in REGISTRY.values() for k, f in s.children.items()}

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child': sys.exit(_child_main(*sys.argv[2:5]))
    sys.exit(main())
