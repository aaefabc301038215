"""`steps`: training-step time per method against the frozen-backbone floor, at equal total length (child `steps`, also run by
`backbones`)."""
import os, time
from pathlib import Path
from bench import section, run_child, rss_peak_mb
from .common import long_sciq_rows, _threads_one, _child_meta, _median

def step_configs(prompt_len: int, total_len: int) -> dict:
    """name -> (method, overrides). Input-layer prompts get `prompt_len` slots inside `total_len`: PEFT's prompt tuning and
    P-tuning prepend `prompt_len` virtual tokens; BaasPrompt splits them into a prefix and a suffix of half each
    (`suffix_ratio = L_s / total_len`, so `round(suffix_ratio * max_len) = L_s` exactly). Deep prompts (prefix-tuning,
    P-tuning v2) add `prompt_len` key/value vectors per layer, which count against max_len as well (the prefix shifts the
    text's positions): their text gets `total_len - prompt_len` tokens."""
    L_s = prompt_len // 2
    bp = dict(prefix_len=prompt_len - L_s, suffix_ratio=L_s / total_len)
    v = dict(num_virtual_tokens=prompt_len)
    return {'floor': ('floor', {}), 'prompt-tuning': ('prompt-tuning', v), 'p-tuning': ('p-tuning', v),
            'prefix-tuning': ('prefix-tuning', v), 'p-tuning-v2': ('p-tuning-v2', v), 'lora': ('lora', {}), 'full': ('full', {}),
            'head-only': ('head-only', {}), 'zero-shot': ('zero-shot', {}),
            'baasprompt': ('baasprompt', {**bp, 'reparam': 'bap'}), 'baasprompt-lstm': ('baasprompt', {**bp, 'reparam': 'lstm'}),
            'baasprompt-mlp': ('baasprompt', {**bp, 'reparam': 'mlp'}), 'baasprompt-none': ('baasprompt', {**bp, 'reparam': 'none'}),
            'baasprompt-lora': ('baasprompt', {**bp, 'reparam': 'bap', 'lora': True})}

def child_steps(spec: dict) -> dict:
    """One method's training step on one fixed batch: forward + loss + finiteness check, backward, gradient clipping,
    AdamW step + linear schedule + zero_grad — what `baasprompt.train.train` does per optimiser step, without accelerate's
    thin single-process wrappers. Then (optionally) the floor measured in the same process, interleaved, for a ratio that
    load changes on the shared machine cannot skew.

    Optional keys (`benchmarks/gpu_check.py` sets them): `device` (default cpu; on CUDA every timed phase ends with
    `torch.cuda.synchronize()` and the peak is `torch.cuda.max_memory_allocated` after the warm-up), `precision` (default
    fp32; forward and backward run under `scoring.autocast`, as in train()) and `settings_profile` (whose method settings,
    the optimiser included, `resolve_config` applies; default demo)."""
    t0, load0 = time.time(), os.getloadavg()
    torch = _threads_one()
    from baasprompt.backbones import load_backbone, count_params
    from baasprompt.scoring import MCQCollator, mcq_loss, autocast
    from baasprompt.config import build_run
    from baasprompt.train import resolve_config, make_optimizer
    from transformers import get_linear_schedule_with_warmup
    name, method, over, T = spec['name'], spec['method'], spec['overrides'], spec['total_len']
    rows = spec['rows']
    out = {'name': name, 'method': method, 'overrides': over, 'backbone': spec['backbone'], 'batch_questions': len(rows)}
    device, precision = torch.device(spec.get('device', 'cpu')), spec.get('precision', 'fp32')
    cuda = device.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)   # CUDA runs asynchronously: a phase ends when its kernels do
    on_device = lambda batch: {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    if cuda: torch.cuda.reset_peak_memory_stats(device)
    if method == 'zero-shot':
        return {**out, 'skipped': f"zero-shot has no training step (it only scores options with a decoder's LM head), and "
                                  f"{spec['backbone']!r} is an encoder", **_child_meta(t0, load0)}
    bb = load_backbone(spec['backbone'])
    backbone_params = count_params(bb.model)
    out['load_seconds'] = round(time.time() - t0, 2)
    torch.manual_seed(0)

    def floor_fn(model):
        "Frozen backbone forward + backward to the input embeddings; loss on the pooled output; nothing trainable."
        enc = MCQCollator(bb.tokenizer, bb.kind, max_len=T, n_choices=4)
        batch = on_device(enc(rows))
        B, C, L = batch['input_ids'].shape
        ids, mask = batch['input_ids'].flatten(0, 1), batch['attention_mask'].flatten(0, 1)
        pool, labels = batch['pool_index'].flatten(), batch['labels']
        emb_layer = model.get_input_embeddings()
        def step():
            sync(); t = time.perf_counter()
            emb = emb_layer(ids).detach().requires_grad_(True)
            with autocast(precision, device):   # backward too, as in train() (TF32 is a global switch, not a dtype)
                hidden = model(inputs_embeds=emb, attention_mask=mask).last_hidden_state
                loss = mcq_loss(hidden[torch.arange(B * C, device=device), pool].mean(-1).view(B, C), labels)
                sync(); t1 = time.perf_counter()
                loss.backward()
                sync(); t2 = time.perf_counter()
            return {'step': t2 - t, 'forward': t1 - t, 'backward': t2 - t1, 'clip': 0.0, 'optimizer': 0.0}
        return step, L

    if method == 'floor':
        bb.model.to(device).train()   # dropout on, as in every method's training step (scorer.train() sets the backbone's mode too)
        step, L = floor_fn(bb.model)
        trainable, deployed, total, info = 0, 0, L, {}
    else:
        cfg, mcfg = resolve_config(method, spec['backbone'], 'sciq', spec.get('settings_profile', 'demo'), 0,
                                   {**over, 'max_len': T, 'scorer': 'head', 'dropout': 0.1})
        run = build_run(cfg, mcfg, backbone=bb)
        built, scorer = run.method, run.scorer.to(device)
        batch = on_device(run.collator(rows))
        L = batch['input_ids'].shape[-1]
        # PEFT's virtual tokens count against max_len, input-layer positions and key/value prefixes alike (methods.py)
        total = L + built.collator_options.get('virtual_tokens', 0)
        trainable, deployed = count_params(scorer, trainable=True), built.deployed_params
        info = {k: v for k, v in built.info.items() if k in ('reparam_params', 'prompt_params', 'reparam')}
        opt, _ = make_optimizer(scorer, mcfg, built.reparam_params)
        sched = get_linear_schedule_with_warmup(opt, 0, 1000)
        scorer.train()
        labels = batch['labels']
        def step():
            sync(); t = time.perf_counter()
            with autocast(precision, device):   # backward too, as in train() (TF32 is a global switch, not a dtype)
                loss = mcq_loss(scorer(batch), labels)
                if not bool(torch.isfinite(loss.detach())): raise RuntimeError(f'{name}: loss is {loss.item()}')
                t1 = time.perf_counter()
                loss.backward()
                sync(); t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_([p for p in scorer.parameters() if p.requires_grad], 1.0)
            sync(); t3 = time.perf_counter()
            opt.step(); sched.step(); opt.zero_grad()
            sync(); t4 = time.perf_counter()
            return {'step': t4 - t, 'forward': t1 - t, 'backward': t2 - t1, 'clip': t3 - t2, 'optimizer': t4 - t3}
    if total != T: raise RuntimeError(f'{name}: total sequence length {total} != {T}: the batch was not filled to the budget')
    rss_loaded = rss_peak_mb()
    for _ in range(spec['warmup']): step()
    rss_peak = rss_peak_mb()                       # the method's own peak: before anything else runs in this process
    if cuda or precision != 'fp32':                # (the CPU fp32 record keeps its keys)
        out.update(device=str(device), precision=precision)
        if cuda: out['cuda_peak_memory_mb'] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    times = []
    floor_times = []
    floor_step = None
    if spec.get('paired_floor') and method != 'floor':
        bb2 = load_backbone(spec['backbone'])      # a separate, untouched copy (LoRA/full modify `bb.model` in place)
        bb2.model.to(device).train()
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

@section('steps', children={'steps': child_steps})
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
           f"prefix {P - P // 2} + suffix {P // 2} slots + {T - P} text tokens), deep prompts (prefix tuning, P-tuning v2) "
           f"{P} key/value vectors per layer + {T - P} text tokens, everything else (floor, LoRA, full, head-only) {T} text tokens.")
    return {'settings': {**st, 'backbone': 'minilm', 'equal_length': how, 'row_ids': [r['id'] for r in rows],
                         'step': 'forward + mcq_loss + finiteness check, backward, clip_grad_norm_(1.0), AdamW step + linear schedule + zero_grad (as train())',
                         'floor': 'frozen backbone in train mode (dropout on, like the methods), inputs_embeds.requires_grad_(True), '
                                  'loss = cross-entropy over options of the mean of the pooled hidden state, backward; no optimizer',
                         'ratio_to_paired_floor': f"method median / median of floor steps interleaved in the same process "
                                                  f"(one floor step after every {st['floor_every']} method steps, on a separate backbone copy)",
                         'ratio_to_floor': 'method median / median of the standalone floor process (across processes: sensitive to load drift)'},
            'results': res}
