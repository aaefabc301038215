"""Precision is a run option (`fp32 | tf32 | bf16`): in config.json, results.json and the hash; a bf16 run finishes on the CPU
(autocast works there too), its scores stay close to fp32's, and every committed run keeps its identity."""
import json
from pathlib import Path
import pytest, torch
from conftest import ROOT, results, run_cli
from baasprompt.config import resolve_config, config_record, config_hash, ADDED_OPTIONS
from baasprompt.core import ConfigError

def test_precision_is_part_of_the_identity_and_fp32_keeps_old_hashes():
    cfg, mcfg = resolve_config('prompt-tuning', profile='smoke')
    fp32 = config_record(cfg, mcfg)
    assert fp32['run']['precision'] == 'fp32'                          # recorded ...
    legacy = {**fp32, 'run': {k: v for k, v in fp32['run'].items() if k not in ADDED_OPTIONS}}
    assert config_hash(legacy) == fp32['hash']                         # ... but an fp32 run hashes as runs did before the option
    bf16 = config_record(*resolve_config('prompt-tuning', profile='smoke', overrides={'precision': 'bf16'}))
    assert bf16['hash'] != fp32['hash']                                # a GPU bf16 run is never taken for the committed CPU one
    assert resolve_config('prompt-tuning', profile='paper')[0].precision == 'bf16'
    with pytest.raises(ConfigError, match='precision must be one of'):
        resolve_config('prompt-tuning', profile='smoke', overrides={'precision': 'fp16'})

def test_every_committed_run_keeps_its_hash():
    configs = sorted(ROOT.glob('results/*/runs/*/config.json'))
    assert len(configs) > 100
    for f in configs:
        rec = json.loads(f.read_text())
        now = {**rec, 'run': {**ADDED_OPTIONS, **rec['run']}}           # the record as the current code writes it
        assert config_hash(now) == rec['hash'], f

def test_a_bf16_run_finishes_on_the_cpu(tmp_path):
    run_cli('train', '--method', 'prompt-tuning', '--profile', 'smoke', '--set', 'precision=bf16', '--output', tmp_path/'run')
    res = results(tmp_path/'run')
    assert res['precision'] == 'bf16' and res['device'] == 'cpu'
    assert json.loads((tmp_path/'run'/'config.json').read_text())['run']['precision'] == 'bf16'

@pytest.mark.parametrize('model, scorer', [('tiny-bert', 'head'), ('tiny-bert', 'similarity'), ('tiny-gpt2', 'likelihood')])
def test_bf16_scores_stay_near_fp32(model, scorer):
    "The trunk in bf16, the scores in fp32: on random tiny models, scores move by a few hundredths at most and stay fp32."
    from baasprompt.backbones import load_backbone
    from baasprompt.methods import build_method, method_config
    from baasprompt.scoring import MCQCollator, autocast
    from baasprompt.data import load_mcq
    torch.manual_seed(0)
    bb = load_backbone(model, lm_head=scorer == 'likelihood')
    built = build_method(method_config('prompt-tuning', num_virtual_tokens=4), bb, scorer=scorer)
    enc = MCQCollator(bb.tokenizer, bb.kind, max_len=96, n_choices=4, **built.collator_options)
    batch = enc(list(load_mcq('sciq', 'test', limit=16)))
    s = built.scorer.eval()
    with torch.no_grad():
        ref = s(batch)
        with autocast('bf16'): low = s(batch)
    assert low.dtype == torch.float32
    spread = (ref.max(-1).values - ref.min(-1).values).mean()
    assert (low - ref).abs().max() <= 0.05 * max(float(spread), 1.0), ((low - ref).abs().max(), spread)
