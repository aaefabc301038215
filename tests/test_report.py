"""The tables and verdicts on synthetic run folders whose answers are known: paired differences, ablations, verdicts, and
names that no registry knows (a toy method, a `jsonl:` bank) shown rather than dropped."""
import json
from pathlib import Path
import pytest
from baasprompt.report import collect, main_table, compare_methods, ablation_table, verdicts, METRICS

N = 100   # test questions of every synthetic run

def _run(root: Path, method: str, dataset: str, correct: set, seed: int = 0, variant: str = '', model: str = 'm'):
    "A finished run folder whose predictions are right exactly on the questions in `correct`."
    name = f"{method}__{model}__{dataset.replace('/', '_').replace(':', '_')}__s{seed}" + (f'__{variant}' if variant else '')
    out = root/'results'/'synthetic'/'runs'/name
    out.mkdir(parents=True)
    preds = [{'id': f'q{i}', 'scores': [0.0] * 4, 'label': 1, 'prediction': 1 if i in correct else 2} for i in range(N)]
    (out/'predictions.jsonl').write_text(''.join(json.dumps(p) + '\n' for p in preds))
    acc = len(correct) / N
    test = {**{k: acc for k in METRICS}, 'accuracy_ci95': [acc - 0.1, acc + 0.1], 'f1_macro_ci95': [acc - 0.1, acc + 0.1], 'n': N}
    (out/'results.json').write_text(json.dumps({
        'method': method, 'model': model, 'dataset': dataset, 'seed': seed, 'n_train': 10, 'n_dev': 10, 'n_test': N, 'n_choices': 4,
        'best_epoch': 1, 'trainable_params': 1, 'backbone_params': 100, 'trainable_ratio': 0.01, 'deployed_params': 1,
        'deployed_ratio': 0.01, 'train_seconds': 1.0, 'test': test, 'scorer': 'similarity'}))

@pytest.fixture
def root(tmp_path):
    first = lambda k: set(range(k))
    for seed in (0, 1):
        _run(tmp_path, 'baasprompt', 'sciq', first(80), seed)           # BaasPrompt right on 80, a superset of ...
        _run(tmp_path, 'prompt-tuning', 'sciq', first(50), seed)        # ... prompt tuning's 50: +0.30, confirmed
        _run(tmp_path, 'p-tuning', 'sciq', first(80), seed)             # the same 80: +0.00, inconclusive
        _run(tmp_path, 'prefix-tuning', 'sciq', first(95), seed)        # 95 ⊇ 80: −0.15, refuted
    _run(tmp_path, 'baasprompt', 'sciq', first(60), 0, 'suffix_ratio=0.2')  # the 10 % default is better by 0.20
    _run(tmp_path, 'baasprompt', 'sciq', first(95), 0, 'prefix_init=lda')   # clustering is worse by 0.15
    _run(tmp_path, 'norm-bias', 'jsonl:/my/bank', first(30))                 # neither name is in a registry
    return tmp_path

def test_compare_methods_gives_the_known_paired_differences(root):
    df = collect('synthetic', root)
    got = {b: compare_methods(df, 'baasprompt', b, 'synthetic', root).iloc[0] for b in ('prompt-tuning', 'p-tuning', 'prefix-tuning')}
    assert {b: (r.acc_diff, r.verdict, r.seeds) for b, r in got.items()} == {
        'prompt-tuning': (0.3, 'confirmed', 2), 'p-tuning': (0.0, 'inconclusive', 2), 'prefix-tuning': (-0.15, 'refuted', 2)}
    lo, hi = got['prompt-tuning'].ci95
    assert 0 < lo < 0.3 < hi

def test_ablation_table_lists_the_default_and_each_variant(root):
    abl = ablation_table(collect('synthetic', root)).set_index(['switch', 'value'])
    assert abl.loc[('suffix_ratio', 0.1), 'default'] and abl.loc[('suffix_ratio', 0.1), 'accuracy'] == 0.8
    assert abl.loc[('suffix_ratio', 0.2), 'accuracy'] == 0.6 and abl.loc[('prefix_init', 'lda'), 'accuracy'] == 0.95

def test_verdicts_state_each_claim_with_its_known_answer(root):
    v = verdicts(collect('synthetic', root), 'synthetic', root)
    assert 'vs prompt-tuning: m/sciq +0.300' in v and '**confirmed**' in v and 'vs prefix-tuning: m/sciq -0.150' in v
    assert 'best suffix_ratio = 0.1' in v and '0.2: +0.200 confirmed' in v
    assert 'best prefix_init = lda' in v and 'lda: -0.150 refuted' in v

def test_names_no_registry_knows_are_shown_not_dropped(root):
    t = main_table(collect('synthetic', root))
    assert t['method'].tolist()[-1] == 'norm-bias'                       # after every registered method
    assert 'jsonl:/my/bank acc' in t.columns and t.columns.tolist().index('jsonl:/my/bank acc') > t.columns.tolist().index('sciq acc')
