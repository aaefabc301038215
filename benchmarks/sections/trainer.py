"""`trainer`: `baasprompt.train.train()` (child `ours`) against HF `Trainer` + PEFT (child `trainer`) on the same data."""
import json, os, statistics, tempfile, time
from pathlib import Path
from bench import section, run_child, rss_peak_mb
from .common import long_sciq_rows, _threads_one, _child_meta

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
    from baasprompt.backbones import count_params
    from baasprompt.scoring import mcq_loss
    from baasprompt.config import build_run
    from baasprompt.train import resolve_config, make_optimizer
    from baasprompt.data import load_mcq
    set_seed(0)
    over = {'num_virtual_tokens': spec['prompt_len'], 'max_len': spec['total_len'], 'scorer': 'head'}   # the same scorer as our loop's side
    cfg, mcfg = resolve_config('prompt-tuning', 'minilm', f"jsonl:{spec['data']}", 'demo', 0, over)
    rows = [dict(r, index=i) for i, r in enumerate(load_mcq(cfg.dataset, 'train'))]
    run = build_run(cfg, mcfg)
    bb, built, scorer, enc = run.backbone, run.method, run.scorer, run.collator

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
    opt, _ = make_optimizer(scorer, mcfg, built.reparam_params)
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

def _write_jsonl_data(folder: Path, rows: list[dict], n_eval: int = 8) -> None:
    "A `jsonl:` dataset folder: the training rows, and small dev/test splits of other long rows."
    folder.mkdir(parents=True, exist_ok=True)
    extra = long_sciq_rows(2 * n_eval, skip=len(rows))
    for split, rs in (('train', rows), ('dev', extra[:n_eval]), ('test', extra[n_eval:])):
        (folder/f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rs))

@section('trainer', children={'ours': child_ours, 'trainer': child_trainer})
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
