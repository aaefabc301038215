"""The test command's steps, in nbdev order: notebooks clean, module in sync with notebooks, nbdev_test, pytest.
Prints one closing line `N passed, N failed` (notebooks and pytest tests together). Exit status 1 on any failure."""
import argparse, os, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def run(cmd, **kw):
    print(f"$ {' '.join(map(str, cmd))}", flush=True)
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kw)

def porcelain(paths):
    return run(['git', 'status', '--porcelain', '--', *paths]).stdout

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--no-slow', action='store_true', help='skip the cells marked #| slow')
    ap.add_argument('pytest_args', nargs='*')
    args = ap.parse_args()
    passed = failed = 0
    t0 = time.time()
    # 1-2. nbdev_clean and nbdev_export must not change anything that is committed
    before = porcelain(['nbs', 'baasprompt'])
    for cmd in (['nbdev_clean'], ['nbdev_export']):
        r = run([BIN/cmd[0]])
        if r.returncode: print(r.stdout, r.stderr); failed += 1
    after = porcelain(['nbs', 'baasprompt'])
    if before != after:
        print('FAILED: nbdev_clean / nbdev_export changed files (unclean notebooks or module out of sync):')
        print(after); failed += 1
    else: passed += 1; print('ok: notebooks clean and module in sync')
    # 3. notebooks, fast cells (the slow cells run last, as their own step)
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    def notebooks(label, flags, only_slow=False):
        nonlocal passed, failed
        for nb in nbs:
            if only_slow and '#| slow' not in nb.read_text(): continue
            t = time.time()
            r = run([BIN/'nbdev_test', '--path', str(nb), *flags])
            ok = r.returncode == 0
            print(f"{'ok' if ok else 'FAILED'}: {nb.name} [{label}] {time.time() - t:.0f}s", flush=True)
            if ok: passed += 1
            else: failed += 1; print(r.stdout[-6000:], r.stderr[-6000:])
    notebooks('fast', [])
    # 4. pytest (counts read from its JUnit report)
    import tempfile, xml.etree.ElementTree as ET
    with tempfile.TemporaryDirectory() as d:
        xml = Path(d)/'pytest.xml'
        env = {**os.environ, 'BAASPROMPT_SLOW': '0' if args.no_slow else '1'}
        r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', f'--junitxml={xml}', 'tests',
                            *args.pytest_args], cwd=ROOT, text=True, env=env)
        if xml.exists():
            suite = ET.parse(xml).getroot()
            suite = suite if suite.tag == 'testsuite' else suite.find('testsuite')
            n, bad = int(suite.get('tests')), int(suite.get('failures')) + int(suite.get('errors'))
            skipped = int(suite.get('skipped'))
            passed, failed = passed + n - bad - skipped, failed + bad
            if skipped: print(f"pytest: {skipped} skipped (marked slow: `make test-slow` runs them)")
        elif r.returncode not in (0, 5): failed += 1
    # 5. notebooks again with the cells marked #| slow (real offline models, full datasets)
    if not args.no_slow: notebooks('slow', ['--flags', 'slow'], only_slow=True)
    print(f"checks took {time.time() - t0:.0f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
