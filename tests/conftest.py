"Shared fixtures: offline environment, the repository root, and a helper that runs the CLI in a subprocess."
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('BAASPROMPT_DATA_DIR', str(ROOT.parent/'shared'/'data'))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
BIN = Path(sys.executable).parent

def run_cli(*args, cwd=None, check=True, timeout=600, env=None):
    "Run `baasprompt ARGS` and return the CompletedProcess (stdout and stderr as text)."
    r = subprocess.run([str(BIN/'baasprompt'), *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, **(env or {})})
    if check and r.returncode: raise AssertionError(f"exit {r.returncode}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}")
    return r

def results(folder) -> dict:
    return json.loads((Path(folder)/'results.json').read_text())

def predictions(folder) -> list:
    return [json.loads(l) for l in (Path(folder)/'predictions.jsonl').read_text().splitlines()]

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: real offline decoder or full data; runs only with BAASPROMPT_SLOW=1 (make test-slow)')

def pytest_collection_modifyitems(config, items):
    if os.environ.get('BAASPROMPT_SLOW') == '1': return
    skip = pytest.mark.skip(reason='slow: runs with BAASPROMPT_SLOW=1 (make test-slow)')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)
