"""Speed and memory benchmarks of baasprompt: training-step time per method against a floor, our loop against HF Trainer + PEFT,
topic extractors, the chain stage cold and warm, inference throughput, and two backbones.

    .venv/bin/python benchmarks/bench.py [--quick] [--only SECTION ...] [--out DIR]

Sections: steps, trainer, topics, chains, predict, backbones (default: all, in that order); then `summary.md` and
`step_time.png` are written from whatever section JSONs exist. `--quick` is a smoke check (fewer steps, smaller sizes) and
writes to benchmarks/results/quick/ so that it never overwrites the results of a full run.

Every measurement runs in its own child process (this script re-invoked with `_child`), one at a time, with
`torch.set_num_threads(1)` and OMP/MKL/OpenBLAS limited to one thread: the machine has 2 shared cores, and one thread
gives stable ratios (absolute times are single-thread figures). Peak memory is `ru_maxrss` of that child.
"""
import argparse, contextlib, json, os, platform, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT/'benchmarks'/'results'
SECTIONS = ('steps', 'trainer', 'topics', 'chains', 'predict', 'backbones', 'scoring')
TARGETS = {'baasprompt_vs_prompt_tuning': 1.25, 'prompt_tuning_vs_floor': 1.15, 'ours_vs_trainer': 0.95,
           'deployed_ratio': 0.001, 'tfqdfvs_csqa_seconds': 60.0, 'warm_chain_calls': 0, 'similarity_vs_head': 0.4}

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
                    scoring=dict(batch=2, total_len=64, prompt_len=8, reps=2, decoder_batch=1, decoder_lengths={'sciq': 128, 'dream': 256}))
    return dict(steps=dict(batch=8, total_len=128, prompt_len=20, warmup=2, timed=10, floor_every=2,
                           configs=['floor', 'prompt-tuning', 'p-tuning', 'prefix-tuning', 'p-tuning-v2', 'lora', 'full', 'head-only',
                                    'baasprompt', 'baasprompt-lstm', 'baasprompt-mlp', 'baasprompt-none', 'baasprompt-lora', 'zero-shot'],
                           profile=['floor', 'prompt-tuning', 'baasprompt']),
                trainer=dict(batch=8, total_len=128, prompt_len=20, steps=12, order='ABBA'),
                topics=dict(sizes=[1000, 3000, 10000], methods=['cluster', 'lda', 'tfqdfvs', 'random'], csqa_full_tfqdfvs=True),
                chains=dict(n_rows=40, k=2, max_tokens=64, max_candidates=2),
                predict=dict(n_sciq=200, n_dream=200),
                backbones=dict(batch=2, total_len=128, prompt_len=20, warmup=2, timed=10, names=['minilm', 'smollm2-135m']),
                scoring=dict(batch=8, total_len=128, prompt_len=20, reps=3, decoder_batch=2, decoder_lengths={'sciq': 384, 'dream': 512}))

def step_configs(prompt_len: int, total_len: int) -> dict:
    """name -> (method, overrides). Input-layer prompts get `prompt_len` slots inside `total_len`: PEFT's prompt tuning and
    P-tuning prepend `prompt_len` virtual tokens; BaasPrompt splits them into a prefix and a suffix of half each
    (`suffix_ratio = L_s / total_len`, so `round(suffix_ratio * max_len) = L_s` exactly). Deep prompts (prefix-tuning,
    P-tuning v2) add `prompt_len` key/value vectors per layer and take the whole `total_len` as input text."""
    L_s = prompt_len // 2
    bp = dict(prefix_len=prompt_len - L_s, suffix_ratio=L_s / total_len)
    v = dict(num_virtual_tokens=prompt_len)
    return {'floor': ('floor', {}), 'prompt-tuning': ('prompt-tuning', v), 'p-tuning': ('p-tuning', v),
            'prefix-tuning': ('prefix-tuning', v), 'p-tuning-v2': ('p-tuning-v2', v), 'lora': ('lora', {}), 'full': ('full', {}),
            'head-only': ('head-only', {}), 'zero-shot': ('zero-shot', {}),
            'baasprompt': ('baasprompt', {**bp, 'reparam': 'bap'}), 'baasprompt-lstm': ('baasprompt', {**bp, 'reparam': 'lstm'}),
            'baasprompt-mlp': ('baasprompt', {**bp, 'reparam': 'mlp'}), 'baasprompt-none': ('baasprompt', {**bp, 'reparam': 'none'}),
            'baasprompt-lora': ('baasprompt', {**bp, 'reparam': 'bap', 'lora': True})}

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

# ---------------------------------------------------------------------------------------------------------------- data
def long_sciq_rows(n: int, min_tokens: int = 160, skip: int = 0) -> list[dict]:
    """`n` SciQ training questions (4 choices) whose context + question is at least `min_tokens` MiniLM tokens, in the
    dataset's stable (hash-of-id) order: every option is then truncated to the text budget, so every batch has exactly
    the same total length for every method."""
    from baasprompt.data import load_mcq
    from baasprompt.backbones import load_backbone
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar(); hf_logging.set_verbosity_error()
    tok = load_backbone('minilm').tokenizer
    out = []
    for r in load_mcq('sciq', 'train'):
        if len(r['choices']) == 4 and len(tok(f"{r['context']} {r['question']}", add_special_tokens=False)['input_ids']) >= min_tokens:
            out.append({k: r[k] for k in ('id', 'context', 'question', 'choices', 'label')})
    if len(out) < n + skip: raise RuntimeError(f'only {len(out)} long SciQ training questions, need {n + skip}')
    return out[skip:skip + n]

# ---------------------------------------------------------------------------------------------------------------- children
def _threads_one():
    import torch
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError): torch.set_num_interop_threads(1)
    return torch

def _child_meta(t0: float, load0) -> dict:
    import torch
    return {'torch_threads': torch.get_num_threads(), 'loadavg_start': [round(x, 2) for x in load0],
            'loadavg_end': [round(x, 2) for x in os.getloadavg()], 'child_seconds': round(time.time() - t0, 2)}

def _median(xs): return statistics.median(xs) if xs else None

def child_steps(spec: dict) -> dict:
    """One method's training step on one fixed batch: forward + loss + finiteness check, backward, gradient clipping,
    AdamW step + linear schedule + zero_grad — what `baasprompt.train.train` does per optimiser step, without accelerate's
    thin single-process wrappers. Then (optionally) the floor measured in the same process, interleaved, for a ratio that
    load changes on the shared machine cannot skew."""
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    from baasprompt.backbones import load_backbone, count_params
    from baasprompt.scoring import MCQEncoder, mcq_loss
    from baasprompt.methods import build_method
    from baasprompt.train import resolve_config, make_optimizer
    from transformers import get_linear_schedule_with_warmup
    name, method, over, T = spec['name'], spec['method'], spec['overrides'], spec['total_len']
    rows = spec['rows']
    out = {'name': name, 'method': method, 'overrides': over, 'backbone': spec['backbone'], 'batch_questions': len(rows)}
    if method == 'zero-shot':
        return {**out, 'skipped': f"zero-shot has no training step (it only scores options with a decoder's LM head), and "
                                  f"{spec['backbone']!r} is an encoder", **_child_meta(t0, load0)}
    bb = load_backbone(spec['backbone'])
    backbone_params = count_params(bb.model)
    out['load_seconds'] = round(time.time() - t0, 2)
    torch.manual_seed(0)

    def floor_fn(model):
        "Frozen backbone forward + backward to the input embeddings; loss on the pooled output; nothing trainable."
        enc = MCQEncoder(bb.tokenizer, bb.kind, max_len=T, n_choices=4)
        batch = enc(rows)
        B, C, L = batch['input_ids'].shape
        ids, mask = batch['input_ids'].flatten(0, 1), batch['attention_mask'].flatten(0, 1)
        pool, labels = batch['pool_index'].flatten(), batch['labels']
        emb_layer = model.get_input_embeddings()
        def step():
            t = time.perf_counter()
            emb = emb_layer(ids).detach().requires_grad_(True)
            hidden = model(inputs_embeds=emb, attention_mask=mask).last_hidden_state
            loss = mcq_loss(hidden[torch.arange(B * C), pool].mean(-1).view(B, C), labels)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            return {'step': t2 - t, 'forward': t1 - t, 'backward': t2 - t1, 'clip': 0.0, 'optimizer': 0.0}
        return step, L

    if method == 'floor':
        bb.model.train()   # dropout on, as in every method's training step (scorer.train() sets the backbone's mode too)
        step, L = floor_fn(bb.model)
        trainable, deployed, total, info = 0, 0, L, {}
    else:
        _, mcfg = resolve_config(method, spec['backbone'], 'sciq', 'demo', 0, over)
        for k, v in over.items(): setattr(mcfg, k, v)   # resolve_config's string casting turns reparam='none' into None
        built = build_method(mcfg, bb, dropout=0.1, train_data=None, seed=0, max_len=T, scorer='head')
        scorer = built.scorer
        enc = MCQEncoder(bb.tokenizer, bb.kind, max_len=T, n_choices=4, **built.encoder_kwargs)
        batch = enc(rows)
        L = batch['input_ids'].shape[-1]
        total = L + built.encoder_kwargs.get('virtual_tokens', 0)
        trainable, deployed = count_params(scorer, trainable=True), built.deployed_params
        info = {k: v for k, v in built.info.items() if k in ('encoder_params', 'prompt_params', 'reparam')}
        opt, _ = make_optimizer(scorer, mcfg)
        sched = get_linear_schedule_with_warmup(opt, 0, 1000)
        scorer.train()
        labels = batch['labels']
        def step():
            t = time.perf_counter()
            loss = mcq_loss(scorer(batch), labels)
            if not bool(torch.isfinite(loss.detach())): raise RuntimeError(f'{name}: loss is {loss.item()}')
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_([p for p in scorer.parameters() if p.requires_grad], 1.0)
            t3 = time.perf_counter()
            opt.step(); sched.step(); opt.zero_grad()
            t4 = time.perf_counter()
            return {'step': t4 - t, 'forward': t1 - t, 'backward': t2 - t1, 'clip': t3 - t2, 'optimizer': t4 - t3}
    if total != T: raise RuntimeError(f'{name}: total sequence length {total} != {T}: the batch was not filled to the budget')
    rss_loaded = rss_peak_mb()
    for _ in range(spec['warmup']): step()
    rss_peak = rss_peak_mb()                       # the method's own peak: before anything else runs in this process
    times = []
    floor_times = []
    floor_step = None
    if spec.get('paired_floor') and method != 'floor':
        bb2 = load_backbone(spec['backbone'])      # a separate, untouched copy (LoRA/full modify `bb.model` in place)
        bb2.model.train()
        floor_step, _ = floor_fn(bb2.model)
        floor_step()                               # warm-up
    for i in range(spec['timed']):
        times.append(step())
        if floor_step is not None and i % spec['floor_every'] == spec['floor_every'] - 1:
            floor_times.append(floor_step()['step'])
    med = {k: round(_median([t[k] for t in times]), 5) for k in times[0]}
    out.update(total_len=T, input_len=L, prompt_positions=total - L, backbone_params=backbone_params,
               trainable_params=trainable, deployed_params=deployed, deployed_ratio=deployed / backbone_params,
               trainable_ratio=trainable / backbone_params, info=info,
               step_seconds_all=[round(t['step'], 4) for t in times], step_median_s=med['step'], phases_median_s=med,
               step_min_s=round(min(t['step'] for t in times), 4),
               questions_per_s=round(len(rows) / med['step'], 3), rss_after_load_mb=round(rss_loaded, 1),
               rss_peak_mb=round(rss_peak, 1), rss_step_overhead_mb=round(rss_peak - rss_loaded, 1))
    if floor_times:
        fm = _median(floor_times)
        out.update(paired_floor_seconds_all=[round(x, 4) for x in floor_times], paired_floor_median_s=round(fm, 5),
                   ratio_to_paired_floor=round(med['step'] / fm, 4))
    if method == 'floor' and spec.get('floor_eval_steps'):
        bb.model.eval()
        ev = [step()['step'] for _ in range(spec['floor_eval_steps'])]
        out['floor_eval_mode_median_s'] = round(_median(ev), 5)   # dropout off: how much the backbone's dropout costs
        bb.model.train()
    if spec.get('profile'):
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU]) as prof: step()
        rows_ = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]
        total_self = sum(e.self_cpu_time_total for e in prof.key_averages())
        out['profile_top_ops'] = [{'op': e.key, 'calls': e.count, 'self_ms': round(e.self_cpu_time_total / 1e3, 2),
                                   'self_share': round(e.self_cpu_time_total / total_self, 4)} for e in rows_]
    return {**out, **_child_meta(t0, load0)}

def child_ours(spec: dict) -> dict:
    "`baasprompt.train.train` itself on the fixed data (a `jsonl:` folder): its results.json `train_seconds`."
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    import baasprompt.train as tr
    # instrumentation only (the library is not changed): how much of train_seconds is the end-of-epoch dev evaluation and checkpoint
    calls = {'evaluate': [], 'save_checkpoint': []}
    def timed(fn, key):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try: return fn(*a, **k)
            finally: calls[key].append(time.perf_counter() - t)
        return wrapper
    tr.evaluate, tr.save_checkpoint = timed(tr.evaluate, 'evaluate'), timed(tr.save_checkpoint, 'save_checkpoint')
    # ... and when each training loss is computed: the intervals between successive losses are whole step periods
    # (backward + clip + optimizer + next batch's collation + forward), robust to one-off costs and load spikes
    stamps, loss_fn = [], tr.mcq_loss
    def stamped_loss(scores, labels):
        out = loss_fn(scores, labels)
        if torch.is_grad_enabled(): stamps.append(time.perf_counter())
        return out
    tr.mcq_loss = stamped_loss
    over = {'num_virtual_tokens': spec['prompt_len'], 'max_len': spec['total_len'], 'batch_size': spec['batch'], 'eval_batch_size': 8,
            'grad_accum': 1, 'epochs': 1, 'warmup_steps': 0, 'train_limit': None, 'dev_limit': None, 'test_limit': None, 'n_boot': 10,
            'scorer': 'head'}   # the same scorer as the Trainer side
    cfg, mcfg = tr.resolve_config('prompt-tuning', 'minilm', f"jsonl:{spec['data']}", 'demo', 0, over)
    out_dir = Path(spec['run_dir'])
    res = tr.train(cfg, mcfg, out_dir, log=lambda *a: None)
    hist = [json.loads(l) for l in open(out_dir/'metrics.jsonl')]
    spent = {'dev_eval': sum(calls['evaluate'][:-1]), 'test_eval': calls['evaluate'][-1], 'save_checkpoint': sum(calls['save_checkpoint'])}
    steps = res['optimizer_steps']
    return {'side': 'ours', 'train_seconds': res['train_seconds'], 'optimizer_steps': steps, 'n_train': res['n_train'],
            'trainable_params': res['trainable_params'], 'epoch_seconds': [h['seconds'] for h in hist],
            'instrumented_seconds': {k: round(v, 3) for k, v in spent.items()}, 'dev_eval_seconds': round(spent['dev_eval'], 3),
            'step_periods_s': [round(b - a, 4) for a, b in zip(stamps, stamps[1:])],
            'lr': mcfg.lr, 'head_lr': mcfg.head_lr, 'max_len': cfg.max_len, 'batch_size': cfg.batch_size,
            'peak_memory_mb': res['peak_memory_mb'], **_child_meta(t0, load0)}

def child_trainer(spec: dict) -> dict:
    "HF `Trainer` + PEFT prompt tuning: the same scorer (built by `build_method`), data, collator, optimiser and schedule."
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    from torch import nn
    from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup
    from transformers.trainer_utils import set_seed
    from baasprompt.backbones import load_backbone, count_params
    from baasprompt.scoring import MCQEncoder, mcq_loss
    from baasprompt.methods import build_method
    from baasprompt.train import resolve_config, make_optimizer
    from baasprompt.data import load_mcq
    set_seed(0)
    over = {'num_virtual_tokens': spec['prompt_len'], 'max_len': spec['total_len']}
    cfg, mcfg = resolve_config('prompt-tuning', 'minilm', f"jsonl:{spec['data']}", 'demo', 0, over)
    rows = [dict(r, index=i) for i, r in enumerate(load_mcq(cfg.dataset, 'train'))]
    bb = load_backbone('minilm', seed=0)
    built = build_method(mcfg, bb, dropout=cfg.dropout, train_data=None, seed=0, max_len=cfg.max_len, scorer='head')
    scorer = built.scorer
    enc = MCQEncoder(bb.tokenizer, bb.kind, max_len=cfg.max_len, n_choices=4, **built.encoder_kwargs)

    class Wrapped(nn.Module):
        "The collated batch in, `{'loss': ...}` out (explicit arguments: no loss kwargs are passed by Trainer)."
        def __init__(self, scorer):
            super().__init__(); self.scorer = scorer
        def forward(self, input_ids, attention_mask, prompt_slots, pool_index, text_end, choice_mask, labels, index=None):
            batch = dict(input_ids=input_ids, attention_mask=attention_mask, prompt_slots=prompt_slots, pool_index=pool_index,
                         text_end=text_end, choice_mask=choice_mask, labels=labels)
            loss = mcq_loss(self.scorer(batch), labels)
            stamps.append(time.perf_counter())
            return {'loss': loss}

    stamps = []
    model = Wrapped(scorer)
    opt, _ = make_optimizer(scorer, mcfg)
    steps = len(rows) // spec['batch']
    sched = get_linear_schedule_with_warmup(opt, 0, steps)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=spec['batch'], max_steps=steps, num_train_epochs=1,
                                 learning_rate=mcfg.lr, weight_decay=mcfg.weight_decay, max_grad_norm=1.0, warmup_steps=0,
                                 lr_scheduler_type='linear', eval_strategy='no', save_strategy='no', logging_strategy='no',
                                 report_to=[], use_cpu=True, dataloader_num_workers=0, dataloader_pin_memory=False,
                                 remove_unused_columns=False, disable_tqdm=True, seed=0)
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=enc, optimizers=(opt, sched))
        t = time.perf_counter()
        res = trainer.train()
        wall = time.perf_counter() - t
    return {'side': 'trainer', 'train_runtime': res.metrics['train_runtime'], 'train_call_seconds': round(wall, 3),
            'optimizer_steps': res.global_step, 'n_train': len(rows), 'step_periods_s': [round(b - a, 4) for a, b in zip(stamps, stamps[1:])], 'trainable_params': count_params(scorer, trainable=True),
            'lr': mcfg.lr, 'head_lr': mcfg.head_lr, 'max_len': cfg.max_len, 'batch_size': spec['batch'],
            'peak_memory_mb': round(rss_peak_mb(), 1), **_child_meta(t0, load0)}

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
    out['rss_peak_mb'] = round(rss_peak_mb(), 1)
    return {**out, **_child_meta(t0, load0)}

def child_chains(spec: dict) -> dict:
    "The Auto-CoT chain stage with the local SmolLM2 writer on a given cache folder; counts calls, tokens and seconds."
    t0, load0 = time.time(), os.getloadavg()
    _threads_one()
    from baasprompt.data import load_mcq
    from baasprompt.chains import make_writer, build_global_chain_texts
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
    return {'runs': runs, 'n_rows': len(rows), 'rss_peak_mb': round(rss_peak_mb(), 1), **_child_meta(t0, load0)}

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
    out['rss_peak_mb'] = round(rss_peak_mb(), 1)
    return {**out, **_child_meta(t0, load0)}

def child_scoring(spec: dict) -> dict:
    """Cost of one question under each scorer. `minilm` prompt tuning: a training step (forward, backward, AdamW) with
    `head` (one sequence per option) against `similarity` (one query, options cached) at the same total length.
    `smollm2-135m` likelihood: the shared context (one pass, its cache expanded over the options) against one sequence per
    option, scoring (no gradient) and a prompt-tuning training step, at the lengths of real questions."""
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    from baasprompt.backbones import load_backbone
    from baasprompt.scoring import MCQEncoder, mcq_loss
    from baasprompt.methods import build_method, method_config
    rows = {k: v for k, v in spec['rows'].items()}
    def timed(fn, reps):
        fn(); out = []
        for _ in range(reps): t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
        return _median(out)
    def make(model, scorer, max_len, batch_rows, **kw):
        bb = load_backbone(model, lm_head=scorer == 'likelihood')
        torch.manual_seed(0)
        built = build_method(method_config('prompt-tuning', num_virtual_tokens=spec['prompt_len']), bb, dropout=0.1,
                             max_len=max_len, scorer=scorer, **kw)
        enc = MCQEncoder(bb.tokenizer, bb.kind, max_len=max_len, n_choices=4, **built.encoder_kwargs)
        return built.scorer, enc(batch_rows)
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
    out['rss_peak_mb'] = round(rss_peak_mb(), 1)
    return {**out, **_child_meta(t0, load0)}

CHILDREN = {'steps': child_steps, 'ours': child_ours, 'trainer': child_trainer, 'topics': child_topics, 'chains': child_chains,
            'predict': child_predict, 'scoring': child_scoring}

# ---------------------------------------------------------------------------------------------------------------- sections
def section_steps(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['steps']
    T, P = st['total_len'], st['prompt_len']
    rows = long_sciq_rows(st['batch'])
    cfgs = step_configs(P, T)
    res = {}
    for name in st['configs']:
        method, over = cfgs[name]
        spec = dict(name=name, method=method, overrides=over, backbone='minilm', rows=rows, total_len=T, warmup=st['warmup'],
                    timed=st['timed'], paired_floor=True, floor_every=st['floor_every'], profile=name in st['profile'],
                    floor_eval_steps=3 if name == 'floor' else 0)
        r = run_child('steps', spec, logs, f'steps-{name}')
        res[name] = r
        if 'skipped' in r: print(f'  {name:16} skipped: {r["skipped"]}', flush=True)
        else:
            print(f"  {name:16} step {r['step_median_s']:.3f} s  ×floor(paired) {r.get('ratio_to_paired_floor', 1.0):.3f}  "
                  f"peak {r['rss_peak_mb']:.0f} MB  trainable {r['trainable_params']:,}  (load {r['loadavg_end'][0]})", flush=True)
    floor = res['floor']['step_median_s']
    for name, r in res.items():
        if 'skipped' in r: continue
        r['ratio_to_floor'] = round(r['step_median_s'] / floor, 4)                 # across processes
        r.setdefault('ratio_to_paired_floor', 1.0 if name == 'floor' else None)
    pt = res.get('prompt-tuning')
    for name, r in res.items():
        if name.startswith('baasprompt') and pt and 'skipped' not in r:
            r['ratio_to_prompt_tuning'] = round(r['step_median_s'] / pt['step_median_s'], 4)
            r['ratio_to_prompt_tuning_paired'] = round(r['ratio_to_paired_floor'] / pt['ratio_to_paired_floor'], 4)
    how = (f"{len(rows)} SciQ training questions × 4 choices, each with ≥ 160 MiniLM tokens of context + question, so every option "
           f"is truncated to its text budget and every batch is exactly (B·C, {T}) after the prompt is in: input-layer prompts "
           f"take {P} of the {T} positions (prompt tuning and P-tuning: {P} PEFT virtual tokens + {T - P} text tokens; BaasPrompt: "
           f"prefix {P - P // 2} + suffix {P // 2} slots + {T - P} text tokens), everything else (floor, deep prompts, LoRA, full, "
           f"head-only) has {T} text tokens; deep prompts add {P} key/value vectors per layer on top.")
    return {'settings': {**st, 'backbone': 'minilm', 'equal_length': how, 'row_ids': [r['id'] for r in rows],
                         'step': 'forward + mcq_loss + finiteness check, backward, clip_grad_norm_(1.0), AdamW step + linear schedule + zero_grad (as train())',
                         'floor': 'frozen backbone in train mode (dropout on, like the methods), inputs_embeds.requires_grad_(True), '
                                  'loss = cross-entropy over options of the mean of the pooled hidden state, backward; no optimizer',
                         'ratio_to_paired_floor': f"method median / median of floor steps interleaved in the same process "
                                                  f"(one floor step after every {st['floor_every']} method steps, on a separate backbone copy)",
                         'ratio_to_floor': 'method median / median of the standalone floor process (across processes: sensitive to load drift)'},
            'results': res}

def _write_jsonl_data(folder: Path, rows: list[dict], n_eval: int = 8) -> None:
    "A `jsonl:` dataset folder: the training rows, and small dev/test splits of other long rows."
    folder.mkdir(parents=True, exist_ok=True)
    extra = long_sciq_rows(2 * n_eval, skip=len(rows))
    for split, rs in (('train', rows), ('dev', extra[:n_eval]), ('test', extra[n_eval:])):
        (folder/f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rs))

def section_trainer(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['trainer']
    rows = long_sciq_rows(st['batch'] * st['steps'])
    with tempfile.TemporaryDirectory(prefix='bench-trainer-') as tmp:
        data = Path(tmp)/'data'; _write_jsonl_data(data, rows)
        spec = dict(data=str(data), batch=st['batch'], total_len=st['total_len'], prompt_len=st['prompt_len'])
        runs = []
        for i, side in enumerate(st['order']):
            kind = 'ours' if side == 'A' else 'trainer'
            r = run_child(kind, {**spec, 'run_dir': str(Path(tmp)/f'run{i}')}, logs, f'trainer-{i}-{kind}')
            secs = r['train_seconds'] if kind == 'ours' else r['train_runtime']
            r['questions_per_s'] = round(r['optimizer_steps'] * st['batch'] / secs, 3)
            r['median_step_period_s'] = round(statistics.median(r['step_periods_s']), 4)
            runs.append(r)
            print(f"  {kind:8} {r['optimizer_steps']} steps in {secs:.2f} s → {r['questions_per_s']:.2f} q/s; median step period "
                  f"{r['median_step_period_s']:.3f} s  (load {r['loadavg_end'][0]})", flush=True)
    ours = [r for r in runs if r['side'] == 'ours']; hf = [r for r in runs if r['side'] == 'trainer']
    if {r['optimizer_steps'] for r in runs} != {st['steps']}: raise RuntimeError(f'unequal step counts: {[r["optimizer_steps"] for r in runs]}')
    q_ours = statistics.mean(r['questions_per_s'] for r in ours); q_hf = statistics.mean(r['questions_per_s'] for r in hf)
    # ours without the per-epoch dev evaluation + checkpoint that train() runs inside its timed phase (Trainer had both off)
    loop_only = [r['optimizer_steps'] * st['batch'] / (r['train_seconds'] - r['instrumented_seconds']['save_checkpoint']
                 - r['dev_eval_seconds']) for r in ours] if all('dev_eval_seconds' in r for r in ours) else []
    summary = {'ours_questions_per_s': round(q_ours, 3), 'trainer_questions_per_s': round(q_hf, 3), 'ratio': round(q_ours / q_hf, 4)}
    p_ours = statistics.median([x for r in ours for x in r['step_periods_s']])
    p_hf = statistics.median([x for r in hf for x in r['step_periods_s']])
    summary.update(ours_median_step_period_s=round(p_ours, 4), trainer_median_step_period_s=round(p_hf, 4),
                   ratio_median_step=round(p_hf / p_ours, 4))
    if loop_only:
        summary['ours_loop_only_questions_per_s'] = round(statistics.mean(loop_only), 3)
        summary['ratio_loop_only'] = round(statistics.mean(loop_only) / q_hf, 4)
    return {'settings': {**st, 'method': 'prompt-tuning', 'backbone': 'minilm', 'data': f"{len(rows)} long SciQ training questions (jsonl: folder)",
                         'ours': 'baasprompt.train.train(), epochs=1, grad_accum=1, warmup 0; throughput from results.json train_seconds '
                                 '(which includes the end-of-epoch dev evaluation of 8 questions and the checkpoint write)',
                         'trainer': 'transformers.Trainer, same scorer/collator/AdamW param groups/linear schedule (passed as optimizers=), '
                                    'eval/save/logging off, report_to=[], use_cpu=True, workers 0; throughput from train_runtime',
                         'order': f"{st['order']} (A = ours, B = Trainer), each in a fresh process; means over repeats"},
            'runs': runs, 'summary': summary}

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

def section_backbones(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['backbones']
    rows = long_sciq_rows(st['batch'])
    method, over = step_configs(st['prompt_len'], st['total_len'])['prompt-tuning']
    res = {}
    for name in st['names']:
        spec = dict(name=f'prompt-tuning@{name}', method=method, overrides=over, backbone=name, rows=rows, total_len=st['total_len'],
                    warmup=st['warmup'], timed=st['timed'], paired_floor=False, floor_every=1, profile=False)
        r = run_child('steps', spec, logs, f'backbones-{name}')
        res[name] = r
        print(f"  {name:14} step {r['step_median_s']:.3f} s  peak {r['rss_peak_mb']:.0f} MB  backbone {r['backbone_params']:,}  "
              f"(load {r['loadavg_end'][0]})", flush=True)
    a, b = (res[n] for n in st['names'][:2])
    return {'settings': {**st, 'method': 'prompt-tuning', 'note': 'same rows, same total length (prompt inside), same step as the steps section'},
            'results': res, 'step_ratio': round(b['step_median_s'] / a['step_median_s'], 3),
            'peak_memory_ratio': round(b['rss_peak_mb'] / a['rss_peak_mb'], 3)}

def section_scoring(S: dict, out_dir: Path, logs: Path) -> dict:
    from baasprompt.data import load_mcq
    st = S['scoring']
    rows = {'sciq': long_sciq_rows(st['batch']),
            'dream': [dict(r) for r in load_mcq('dream', 'test', limit=st['decoder_batch'])]}
    rows['sciq'] = rows['sciq'][:max(st['batch'], st['decoder_batch'])]
    res = run_child('scoring', {**st, 'rows': rows}, logs, 'scoring')
    return {'settings': st, **res}

SECTION_FUNCS = {'steps': section_steps, 'trainer': section_trainer, 'topics': section_topics, 'chains': section_chains,
                 'predict': section_predict, 'backbones': section_backbones, 'scoring': section_scoring}

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

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child': sys.exit(_child_main(*sys.argv[2:5]))
    sys.exit(main())
