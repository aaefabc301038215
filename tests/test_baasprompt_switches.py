"""Every BaasPrompt switch builds, trains a step and evaluates deterministically, with real data — on the offline encoder
(`make test`) and on the offline decoder SmolLM2-135M (marked slow: `make test-slow`)."""
import pytest, torch
from baasprompt.backbones import load_backbone
from baasprompt.scoring import MCQCollator, mcq_loss
from baasprompt.data import load_mcq
from baasprompt.methods import method_config, build_method
from baasprompt.config import method_defaults

SMOKE = method_defaults('baasprompt', 'smoke')
SWITCHES = [('prefix_init', v) for v in ('lda', 'tfqdfvs', 'random')] + [('suffix_init', v) for v in ('chain', 'semi-hard', 'random')] + \
           [('rollback', v) for v in ('one', 'half', 'truncate')] + [('reparam', v) for v in ('bap', 'lstm', 'mlp', 'none')] + \
           [('suffix_ratio', v) for v in (0.01, 0.2)] + [('lora', True)]

@pytest.fixture(scope='module')
def rows(): return [dict(r) for r in load_mcq('sciq', 'train', limit=16)]

@pytest.fixture(autouse=True)
def fresh_init_cache(tmp_path, monkeypatch):
    """A new cache root per test, so every switch runs its initialiser instead of reading an earlier test's result; the costly,
    switch-independent entries (converted models, Sentence-BERT embeddings) are linked in from the shared cache."""
    from baasprompt.core import cache_dir
    shared = cache_dir()
    for sub in ('models', 'topics'):
        (shared/sub).mkdir(exist_ok=True); (tmp_path/sub).symlink_to(shared/sub)
    monkeypatch.setenv('BAASPROMPT_CACHE', str(tmp_path))

MODELS = [pytest.param('minilm', id='minilm'), pytest.param('smollm2-135m', id='smollm2', marks=pytest.mark.slow)]
SCORER = {'minilm': 'similarity', 'smollm2-135m': 'likelihood'}   # each backbone's own, as in the CPU profiles

@pytest.mark.parametrize('model', MODELS)
@pytest.mark.parametrize('key, value', SWITCHES)
def test_switch(key, value, model, rows):
    torch.manual_seed(0)
    bb = load_backbone(model, lm_head=SCORER[model] == 'likelihood')   # a fresh copy each time: LoRA wraps the model in place
    cfg = method_config('baasprompt', **{**SMOKE, key: value})
    built = build_method(cfg, bb, train_data=rows, seed=0, max_len=64, scorer=SCORER[model])
    from baasprompt.core import cache_dir
    assert list(cache_dir('baasprompt-init').iterdir()), "the initialiser ran and cached its result in this test's own cache"

    enc = MCQCollator(bb.tokenizer, bb.kind, max_len=64, n_choices=4, **built.collator_options)
    batch = enc(rows[:4])
    s = built.scorer
    params = [p for p in s.parameters() if p.requires_grad]
    own = {id(p) for p in s.own_parameters()}
    method = [p for p in params if id(p) not in own]          # the prompt, its encoder (and LoRA): not the scorer's temperature
    before = [p.detach().clone() for p in method]
    s.train()
    loss = mcq_loss(s(batch), batch['labels']); loss.backward()
    torch.optim.AdamW(params, lr=1e-3).step()
    assert torch.isfinite(loss) and method and any((p - b).abs().sum() > 0 for p, b in zip(method, before))
    s.eval()
    with torch.no_grad(): a, b = s(batch), s(batch)
    assert torch.equal(a, b)                                  # the suffix is not resampled at evaluation
    L_p, L_s = built.collator_options['prefix_len'], built.collator_options['suffix_len']
    assert L_s == max(1, round(cfg.suffix_ratio * 64)) and L_p == 10
    assert len(set(built.info['topic_ids'])) == 10            # distinct topic words: no collapsed prefix rows
    if key == 'lora': assert any('lora_' in n for n, p in s.named_parameters() if p.requires_grad)
