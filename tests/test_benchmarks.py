"""Every benchmark still starts: `python benchmarks/<name>.py --smoke` exits 0 (issue 24).

A smoke run takes seconds and goes through the benchmark's own code path on tiny inputs, so a missing import, a
renamed function or a kernel whose arguments changed fails here, in `make test`, instead of in the next `make bench`.
Every `benchmarks/bench_*.py` is run, so a new benchmark needs a `--smoke` flag too. bench_peers.py runs its peers only
when their venv (benchmarks/.venv-peers) is already built; without it, our side alone, and it checks statically that
peers-requirements.txt covers what the loaded deblur_nbdev modules import."""
import os, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_here():
    assert {"bench_dataset.py", "bench_deconvolution.py", "bench_peers.py", "bench_warp.py",
            "bench_warp_cuda.py"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_smoke(name):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--smoke"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    out = (r.stdout + r.stderr)[-6000:]
    assert r.returncode == 0, f"{name} --smoke exited {r.returncode} after {time.perf_counter() - t:.0f} s:\n{out}"
    assert r.stdout.strip(), f"{name} --smoke printed nothing"
