"""`backbones`: the `steps` measurement of prompt tuning on `minilm` against `smollm2-135m` (it runs the `steps` child)."""
from pathlib import Path
from bench import section, run_child
from .common import long_sciq_rows
from .steps import step_configs

@section('backbones')
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
