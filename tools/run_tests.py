"""Run every test suite of deblur_nbdev and print one closing line `N passed, N failed`.

Suites: (1) notebooks, library and README in sync (`nbdev_export`/`nbdev_clean` change nothing, README.md is
the render of nbs/index.ipynb),
(2) `nbdev_test` (flags `slow` and `cuda` skipped unless NBDEV_FLAGS names them; `real`, the cells that need the real
captures of ../shared/data, run when that folder exists), (3) `pytest tests/` (with
tests/test_docs.py: the docs site of tools/build_docs.py opened in headless Chromium, and tests/test_lab.py:
the sliders of 04_synthesis and 08_sync moved in JupyterLab in headless Chromium; both skipped without one),
(4) the docs pre-processing (`nbdev.serve.proc_nbs`) on every notebook, (5) ruff on the generated library."""
import hashlib, os, re, subprocess, sys, xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.chdir(ROOT)
totals = {"passed": 0, "failed": 0, "skipped": 0}

def tally(suite, passed, failed, skipped=0):
    totals["passed"] += passed; totals["failed"] += failed; totals["skipped"] += skipped
    print(f"== {suite}: {passed} passed, {failed} failed, {skipped} skipped", flush=True)

def snapshot():
    files = sorted(p for d in ("nbs", "deblur_nbdev") for p in Path(d).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts)
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

def run(cmd, **kw):
    print("$", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, text=True, capture_output=True, **kw)

# 1. export/clean must not change anything
before = snapshot()
r1, r2 = run([BIN/"nbdev_export"]), run([BIN/"nbdev_clean"])
r3 = run([BIN/"python", "tools/make_readme.py", "--check"])
after = snapshot()
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
if r1.returncode or r2.returncode or r3.returncode or changed:
    print(r1.stdout + r1.stderr + r2.stdout + r2.stderr + r3.stdout + r3.stderr)
    print("nbdev_export/nbdev_clean changed (commit the result):", *changed, sep="\n  ")
    tally("sync", 0, 1)
else: tally("sync", 1, 0)

# 2. notebooks
nbs = sorted(p for p in Path("nbs").rglob("*.ipynb") if not p.name.startswith("_") and ".ipynb_checkpoints" not in p.parts)
flags = os.environ.get("NBDEV_FLAGS", "")
if (ROOT.parent / "shared" / "data").is_dir() and "real" not in flags.split(): flags = (flags + " real").strip()
r = run([BIN/"nbdev_test", "--n_workers", os.environ.get("NBDEV_WORKERS", "2"), "--timing"] + (["--flags", flags] if flags else []))
print(r.stdout[-20000:], r.stderr[-20000:])
failed_nbs = set(re.findall(r"==> (\S+\.ipynb)", r.stdout + r.stderr))
n_fail = len(failed_nbs) if failed_nbs else (0 if r.returncode == 0 else 1)
tally("nbdev_test (notebooks)", len(nbs) - n_fail, n_fail)

# 3. pytest
xml = ROOT/"test-results"/"pytest.xml"; xml.parent.mkdir(exist_ok=True)
if xml.exists(): xml.unlink()
env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}  # derandomised: CI == local
r = subprocess.run([BIN/"python", "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"], env=env)
if xml.exists():
    s = ET.parse(xml).getroot(); s = s if s.tag == "testsuite" else s.find("testsuite")
    t, f, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    tally("pytest", t - f - e - sk, f + e, sk)
else: tally("pytest", 0, 1)

# 4. docs pre-processing (what nbdev_docs feeds to Quarto; Quarto itself is not installable here)
def mixed_import_cells(nb_path):
    "Cells the docs build would execute because they import, but which also run other code (nbdev warns; they break docs)."
    import ast, json
    bad = []
    for i, c in enumerate(json.loads(Path(nb_path).read_text())["cells"]):
        if c["cell_type"] != "code": continue
        lines = c["source"] if isinstance(c["source"], list) else c["source"].splitlines(True)
        src = "".join(l for l in lines if not l.lstrip().startswith(("%", "!")))
        dirs = {l.split()[1] for l in lines if l.startswith("#|") and len(l.split()) > 1}
        if dirs & {"export", "exports", "exporti", "exec_doc"} or "#| eval: false" in src or "nbdev_export()" in src: continue
        try: tree = ast.parse(src)
        except SyntaxError: continue
        nodes = list(ast.walk(tree))
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes) and any(isinstance(n, (ast.Expr, ast.Assign)) for n in nodes):
            bad.append(i)
    return bad

r = run([BIN/"python", "-c", "from nbdev.serve import proc_nbs; proc_nbs()"])
procd = {p.name for p in Path("_proc").rglob("*.ipynb")} if r.returncode == 0 else set()
missing = [p.name for p in nbs if p.name not in procd]
mixed = {p.name: c for p in nbs if (c := mixed_import_cells(p))}
if r.returncode: print(r.stdout[-5000:], r.stderr[-5000:])
if missing: print("proc_nbs did not produce:", missing)
for k, v in mixed.items(): print(f"{k}: cells {v} mix imports with other code (put imports in their own cells)")
bad = set(missing) | set(mixed)
tally("docs pre-processing", len(nbs) - len(bad), len(bad))

# 5. lint (ruff) of the generated library: no `;` statement chains (E702/E703), no unused imports (F401), no line
# over 120 characters (E501) — except the first line of nbdev's `__all__`: nbdev wraps the list at 120 and then puts
# `__all__ = ` in front (nbdev/maker.py), which the notebooks cannot change
lint = [BIN/"ruff", "check", "--no-cache", "--exclude", "deblur_nbdev/_modidx.py", "deblur_nbdev"]
LINT_RULES = os.environ.get("DEBLUR_LINT", "E702,E703,F401,E501")
r = run(lint + ["--select", LINT_RULES, "--line-length", "120", "--output-format", "concise", "--exit-zero"])
found = [l for l in r.stdout.splitlines() if re.match(r"\S+\.py:\d+:\d+: [A-Z]+\d+", l)]
def nbdev_all_line(hit):
    f, n = hit.split(":")[:2]
    return " E501 " in hit and Path(f).read_text().splitlines()[int(n) - 1].startswith("__all__ = ")
bad = [l for l in found if not nbdev_all_line(l)]
for l in bad: print(l)
print(f"lint: {len(found) - len(bad)} long `__all__` lines of nbdev's own left alone")
tally(f"lint (ruff {LINT_RULES})", int(not bad and r.returncode == 0), int(bool(bad) or r.returncode != 0))

print(f"({totals['skipped']} skipped: tests that need a GPU or an optional compiler)")
print(f"{totals['passed']} passed, {totals['failed']} failed")
sys.exit(1 if totals["failed"] else 0)
