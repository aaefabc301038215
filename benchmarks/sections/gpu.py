"""`gpu`: the GPU device check's dry run (`benchmarks/gpu_check.sh run --dry`: every stage on this CPU at tiny sizes, from a
freshly packed `.gpu/` without wheels), so that the check the device runs once cannot rot unnoticed."""
import json, subprocess, sys, time
from pathlib import Path
from bench import section, child_env, ROOT

@section('gpu')
def section_gpu(S: dict, out_dir: Path, logs: Path) -> dict:
    st = S['gpu']
    gpu_dir, out, work = logs/'gpu', logs/'out', logs/'work'
    env = child_env(PYTHON=sys.executable, GPU_DIR=gpu_dir, OUT=out, GPU_CHECK_WORK=work)
    t = time.time()
    for verb in (['pack', '--no-wheels'], ['run', '--dry']):
        with open(logs/f"gpu-{verb[0]}.log", 'w') as lf:
            r = subprocess.run(['bash', str(ROOT/'benchmarks'/'gpu_check.sh'), *verb], cwd=ROOT, env=env, stdout=lf,
                               stderr=subprocess.STDOUT, timeout=st['timeout_s'])
        if r.returncode:
            raise RuntimeError(f"gpu_check.sh {' '.join(verb)} exited {r.returncode}:\n" + (logs/f"gpu-{verb[0]}.log").read_text()[-3000:])
    report = json.loads((out/'gpu_check.json').read_text())
    status = {name: s['status'] for name, s in report['stages'].items()}
    print('  ' + ', '.join(f'{n} {v}' for n, v in status.items()), flush=True)
    return {'settings': st, 'wall_seconds': round(time.time() - t, 1), 'status': status, 'report': report}
