"""The paper profile as a user with GPUs would run it, exercised here on tiny stand-ins: every method of the paper grid takes
one optimisation step at the paper's settings (512 tokens, 100 virtual tokens, its learning rates) on a bank whose contexts
exceed 512 tokens; and one step at the paper's peak learning rate keeps BaasPrompt's folded prompt sane."""
import json, math
from pathlib import Path
import pytest, torch
from baasprompt.config import resolve_config
from baasprompt.reproduce import grid
from baasprompt.train import train, make_optimizer
from baasprompt.backbones import load_backbone
from baasprompt.methods import build_method
from baasprompt.scoring import MCQCollator, mcq_loss

WORDS = 'the river carries water from the hills to the sea and the town beside it grows wheat barley and apples'.split()

def long_context(i: int, n_words: int = 700) -> str:
    return ' '.join(WORDS[(i + k) % len(WORDS)] for k in range(n_words))

@pytest.fixture(scope='module')
def bank(tmp_path_factory):
    "A `jsonl:` bank whose every context runs to 700 words (well over 512 tokens), 3 to 5 options."
    d = tmp_path_factory.mktemp('bank')
    for split, n in (('train', 12), ('dev', 2), ('test', 2)):
        rows = [{'id': f'{split}{i}', 'context': long_context(i), 'question': f'What does the river carry, {split} case {i}?',
                 'choices': ['water', 'sand', 'stones', 'fish', 'ice'][:3 + i % 3], 'label': 0} for i in range(n)]
        (d/f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return d

PAPER_METHODS = sorted({s.method for s in grid('paper')})
STEP = {'epochs': 1, 'grad_accum': 1, 'batch_size': 2, 'max_steps': 1, 'eval_batch_size': 2, 'n_boot': 10}
BAASPROMPT_CPU = {'k_chains': 2, 'chain_max_tokens': 48, 'chain_max_candidates': 1, 'aggregator_steps': 2, 'decoder_steps': 2}

def test_the_paper_grid_has_every_method():
    assert {'prompt-tuning', 'prefix-tuning', 'p-tuning', 'p-tuning-v2', 'baasprompt', 'lora', 'full', 'head-only', 'zero-shot'} <= set(PAPER_METHODS)

@pytest.mark.parametrize('model', ['tiny-bert', 'tiny-gpt2'])
@pytest.mark.parametrize('method', PAPER_METHODS)
def test_one_paper_step(method, model, bank, tmp_path, monkeypatch):
    monkeypatch.setenv('BAASPROMPT_LLM_CACHE', str(tmp_path/'llm'))   # the bank's chains stay out of the committed cache
    over = {**STEP, **(BAASPROMPT_CPU if method == 'baasprompt' else {})}
    cfg, mcfg = resolve_config(method, model, f'jsonl:{bank}', 'paper', overrides=over)
    assert cfg.max_len == 512 and cfg.profile == 'paper'
    res = train(cfg, mcfg, tmp_path/'run', log=lambda *a: None)
    if mcfg.trains:
        history = [json.loads(l) for l in (tmp_path/'run'/'metrics.jsonl').read_text().splitlines()]
        assert res['optimizer_steps'] == 1 and history and all(math.isfinite(h['train_loss']) for h in history), history
    for split, n in (('train', 12), ('test', 2)):
        used = res['length'][split]
        assert used['longest'] <= 512 and used['truncated'] == n, used   # every context was cut, no position ran past 512
    if getattr(mcfg, 'num_virtual_tokens', 0): assert res['length']['test']['virtual_tokens'] == mcfg.num_virtual_tokens
    assert math.isfinite(res['test']['accuracy'])

def _paper_baasprompt_step(optimizer: str | None = None):
    "Folded prompt before and after one step at the paper's peak rates (no warmup), on tiny-bert with real embedding rows as the init."
    cfg, mcfg = resolve_config('baasprompt', 'tiny-bert', 'sciq', 'paper')
    if optimizer: mcfg.optimizer = optimizer
    torch.manual_seed(0)
    bb = load_backbone('tiny-bert')
    built = build_method(mcfg, bb, max_len=cfg.max_len, scorer=cfg.scorer)
    prompt, E = built.scorer.prompt, bb.model.get_input_embeddings().weight.detach()
    with torch.no_grad():   # an init like the real one: rows of the embedding matrix
        prompt.prefix.copy_(E[torch.arange(prompt.prefix.shape[0]) + 1000]); prompt.suffix.copy_(E[torch.arange(prompt.suffix.shape[0]) + 2000])
    enc = MCQCollator(bb.tokenizer, bb.kind, max_len=cfg.max_len, n_choices=5, **built.collator_options)
    batch = enc([{'context': long_context(i), 'question': 'What does the river carry?', 'choices': ['water', 'sand', 'stones'], 'label': i % 3}
                 for i in range(2)])
    before = prompt.fold().vectors
    opt, _ = make_optimizer(built.scorer, mcfg, built.reparam_params)
    built.scorer.train()
    loss = mcq_loss(built.scorer(batch), batch['labels']); loss.backward(); opt.step()
    return before, prompt.fold().vectors, opt

def test_a_paper_step_keeps_baasprompt_sane():
    before, after, opt = _paper_baasprompt_step()
    rates = sorted(g['lr'] for g in opt.param_groups)
    assert rates[-1] == 0.3 and 1e-3 in rates                       # vectors at 0.3, the BAP-Encoder and head at 1e-3
    assert torch.isfinite(after).all()
    change = (after - before).norm() / before.norm()
    assert 0 < change < 1, change

def test_the_same_step_under_adamw_would_not_be():
    "The check above can fail: AdamW at the paper's 0.3 moves the prompt by more than its own norm in one step."
    before, after, _ = _paper_baasprompt_step('adamw')
    assert (after - before).norm() / before.norm() > 1
