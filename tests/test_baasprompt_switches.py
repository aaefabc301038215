"""Every BaasPrompt switch builds, trains a step and evaluates deterministically, with real data — on the offline encoder
(`make test`) and on the offline decoder SmolLM2-135M (marked slow: `make test-slow`)."""
import pytest, torch
from baasprompt.backbones import load_backbone
from baasprompt.scoring import MCQEncoder, mcq_loss
from baasprompt.data import load_mcq
from baasprompt.methods import method_config, build_method
from baasprompt.train import PROFILES

SMOKE = PROFILES['smoke']['methods']['baasprompt']
SWITCHES = [('prefix_init', v) for v in ('lda', 'tfqdfvs', 'random')] + [('suffix_init', v) for v in ('chain', 'semi-hard', 'random')] + \
           [('rollback', v) for v in ('one', 'half', 'truncate')] + [('reparam', v) for v in ('bap', 'lstm', 'mlp', 'none')] + \
           [('suffix_ratio', v) for v in (0.01, 0.2)] + [('lora', True)]

@pytest.fixture(scope='module')
def rows(): return [dict(r) for r in load_mcq('sciq', 'train', limit=16)]

MODELS = [pytest.param('minilm', id='minilm'), pytest.param('smollm2-135m', id='smollm2', marks=pytest.mark.slow)]

@pytest.mark.parametrize('model', MODELS)
@pytest.mark.parametrize('key, value', SWITCHES)
def test_switch(key, value, model, rows):
    torch.manual_seed(0)
    bb = load_backbone(model)   # a fresh copy each time: LoRA wraps the model in place
    cfg = method_config('baasprompt', **{**SMOKE, key: value})
    built = build_method(cfg, bb, train_data=rows, seed=0, max_len=64)
    enc = MCQEncoder(bb.tokenizer, bb.kind, max_len=64, n_choices=4, **built.encoder_kwargs)
    batch = enc(rows[:4])
    s = built.scorer
    params = [p for p in s.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    s.train()
    loss = mcq_loss(s(batch), batch['labels']); loss.backward()
    torch.optim.AdamW(params, lr=1e-3).step()
    assert torch.isfinite(loss) and any((p - b).abs().sum() > 0 for p, b in zip(params, before))
    s.eval()
    with torch.no_grad(): a, b = s(batch), s(batch)
    assert torch.equal(a, b)                                  # the suffix is not resampled at evaluation
    L_p, L_s = built.encoder_kwargs['prefix_len'], built.encoder_kwargs['suffix_len']
    assert L_s == max(1, round(cfg.suffix_ratio * 64)) and L_p == 10
    assert len(set(built.info['topic_ids'])) == 10            # distinct topic words: no collapsed prefix rows
    if key == 'lora': assert any('lora_' in n for n, p in s.named_parameters() if p.requires_grad)
