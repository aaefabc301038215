"""The GPU device check (benchmarks/gpu_check.sh) runs end to end on this CPU (`run --dry`, from a freshly packed `.gpu/`)
without the packages the device lacks: gensim, gguf, openai, papermill, nbdev and fastcore are hidden from every process
it starts, so the check the device runs once cannot depend on them."""
import json, os, subprocess, sys
from conftest import ROOT
sys.path.insert(0, str(ROOT/'benchmarks'))
from gpu_check import STAGES   # every stage the device runs must run in the dry mode too
HIDDEN = ('gensim', 'gguf', 'openai', 'papermill', 'nbdev', 'fastcore')
# imported by Python at start-up from PYTHONPATH (so in every child process too): each finder finds nothing for a hidden
# package, as on a machine without it (`import` raises ModuleNotFoundError, `importlib.util.find_spec` returns None)
SITECUSTOMIZE = f'''
import sys
HIDDEN = {HIDDEN!r}

class Hide:
    def __init__(self, finder): self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in HIDDEN or not hasattr(self.finder, 'find_spec'): return None
        return self.finder.find_spec(name, path, target)
    def __getattr__(self, attr): return getattr(self.finder, attr)

sys.meta_path[:] = [Hide(f) for f in sys.meta_path]
'''

def test_the_dry_run_passes_without_what_the_device_lacks(tmp_path):
    (tmp_path/'hide').mkdir()
    (tmp_path/'hide'/'sitecustomize.py').write_text(SITECUSTOMIZE)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(tmp_path/'hide'), os.environ.get('PYTHONPATH')])),
           'PYTHON': sys.executable, 'GPU_DIR': str(tmp_path/'gpu'), 'OUT': str(tmp_path/'out'), 'GPU_CHECK_WORK': str(tmp_path/'work')}
    probe = subprocess.run([sys.executable, '-c', 'import importlib, importlib.util, sys\n'
                            f'for n in {HIDDEN!r}:\n'
                            '    assert importlib.util.find_spec(n) is None, n\n'
                            '    try: importlib.import_module(n)\n'
                            '    except ModuleNotFoundError: continue\n'
                            '    sys.exit(f"{n} imported")\n'
                            'import torch, transformers, baasprompt.train'], env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr[-2000:]        # the hiding works, and hides nothing else
    for verb in (['pack', '--no-wheels'], ['run', '--dry']):  # the venv has `datasets`: no wheels needed here
        r = subprocess.run(['bash', 'benchmarks/gpu_check.sh', *verb], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{verb}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    report = json.loads((tmp_path/'out'/'gpu_check.json').read_text())
    assert report['dry'] and sorted(report['stages']) == sorted(STAGES) and (tmp_path/'out'/'gpu_check.md').exists()
    failed = {n: (s['status'], [c for c in s['checks'] if not c['ok']], s.get('error', '')[-1500:])
              for n, s in report['stages'].items() if s['status'] != 'pass'}
    assert not failed, f"{failed}\n{r.stdout[-3000:]}"
    assert all(s['results'] for s in report['stages'].values())
    bp = [x for x in report['stages']['paper_steps']['results'] if x['method'] == 'baasprompt']
    assert bp and all(x['ok'] and x['baasprompt_init']['suffix_init'] == 'random' for x in bp)   # no chain LLM was needed
    assert report['stages']['versions']['minilm_weights_stored_as'] == ['F16', 'I64']             # the packed copy was loaded
