"""What several sections share: the long SciQ rows every step measurement uses, and the start and end of every child."""
import contextlib, os, statistics, time
from bench import rss_peak_mb

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

# the long contexts of tests/test_paper_profile.py: 700 words run well past 512 tokens, so every option is cut to its text budget
WORDS = 'the river carries water from the hills to the sea and the town beside it grows wheat barley and apples'.split()

def long_context(i: int, n_words: int = 700) -> str:
    return ' '.join(WORDS[(i + k) % len(WORDS)] for k in range(n_words))

def paper_rows(n: int) -> list[dict]:
    "`n` questions with 700-word contexts and 4 options each: the paper's shapes (every batch fills max_len)."
    return [{'id': f'q{i}', 'context': long_context(i), 'question': f'What does the river carry, case {i}?',
             'choices': ['water', 'sand', 'stones', 'fish'], 'label': i % 4} for i in range(n)]

def _threads_one():
    import torch
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError): torch.set_num_interop_threads(1)
    return torch

def _child_meta(t0: float, load0) -> dict:
    import torch
    return {'torch_threads': torch.get_num_threads(), 'loadavg_start': [round(x, 2) for x in load0],
            'loadavg_end': [round(x, 2) for x in os.getloadavg()], 'child_seconds': round(time.time() - t0, 2)}

def _child_result(out: dict, t0: float, load0) -> dict:
    "What a child returns: `out`, its own peak RSS, its threads and load averages."
    return {**out, 'rss_peak_mb': round(rss_peak_mb(), 1), **_child_meta(t0, load0)}

def _median(xs): return statistics.median(xs) if xs else None
