"""Run the chapter notebooks as `nbdev_test` does (fast cells only: cells flagged `#| slow` or `#| eval: false` are skipped)
and keep their outputs in the notebooks, as fastcore's and execnb's notebooks keep theirs: a reader in JupyterLab sees what
each piece does without running minutes of cells first. `nbdev_clean` then strips what varies between runs (execution
counts, metadata); the outputs stay. Run it after changing a chapter (`make nb-outputs`, or with notebook names).

Outputs are a view, not a check: `make test` runs every notebook afresh and ignores what is saved."""
import argparse, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run_one(fn: Path, skip=('slow',)) -> float:
    "Execute `fn`'s fast cells in its folder and save it with their outputs (slow cells keep none); the seconds it took."
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from fastcore.foundation import working_directory
    os.environ['IN_TEST'] = '1'
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    def no_eval(cell):
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', {}) or {}
        if d.get('eval:', [''])[0].lower() == 'false' or set(skip) & d.keys():
            cell.outputs = []; return True
        return False
    t = time.time()
    with working_directory(fn.parent): CaptureShell(fn).run_all(nb, exc_stop=True, preproc=no_eval)
    saved = read_nb(fn)   # the file as it is, its cells given the outputs just made (the processed copy carries parsed directives)
    for cell, ran in zip(saved.cells, nb.cells):
        if cell.cell_type == 'code': cell.outputs, cell.execution_count = ran.get('outputs', []), None
    write_nb(saved, fn)
    return time.time() - t

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('names', nargs='*', help='notebooks (default: every chapter in nbs/, index.ipynb excepted: `make readme` executes it)')
    args = ap.parse_args()
    nbs = [ROOT/'nbs'/(n if n.endswith('.ipynb') else n + '.ipynb') for n in args.names] if args.names else \
          sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))
    failed = 0
    for fn in nbs:
        try: print(f"{fn.name}: outputs kept ({run_one(fn):.0f}s)", flush=True)
        except Exception as e: failed += 1; print(f"{fn.name}: FAILED ({type(e).__name__}: {str(e)[:200]}); left as it was", flush=True)
    import subprocess
    subprocess.run([str(Path(sys.executable).parent/'nbdev_clean')], cwd=ROOT, check=True)
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
