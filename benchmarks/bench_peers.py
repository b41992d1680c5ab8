"""Our depth-aware blur synthesis against the PyPI blur tools: same images, one run, one thread (issue #11).

Times `deblur_nbdev.synthesis.synthesize` (sideways camera translation, numba backend), blurgenerator's
`motion_blur_with_depth_map` (depth bands, one box blur per band) and albumentations' `MotionBlur` (one kernel for the
whole image) on the same uint8 procedural RGB-D scene at 240×320 and 1080×1920, each set for a ~9 px blur. Prints
the median times (the tools take turns, so load changes hit all alike), the ratios, the blur each tool achieved and
where our time goes: every stage that `synthesize` runs now (found in its code, so the breakdown follows the code),
each with its own time, adding up to the total; the one-thread numba loop split per pose by replaying its kernels.
Target: ours ≤ 1.0× blurgenerator at both sizes, printed as met / not met from the ratio measured in this run (no
pass/fail, exit 0).

The peers pull dependencies the project does not want, so the script runs in its own virtual environment,
benchmarks/.venv-peers (git-ignored): any python3 creates or refreshes it (benchmarks/peers-requirements.txt,
blurgenerator with --no-deps, the project with `pip install --no-deps -e .`) and re-executes the script inside it.
`--smoke` (tests/test_benchmarks.py, a few seconds): one 48×64 call per tool, in the venv when it is already built,
else our side only in the calling interpreter (it says so); either way it checks that peers-requirements.txt covers
what the loaded deblur_nbdev modules import and that the breakdown still matches the code (exit 1 if not).
Usage: python3 benchmarks/bench_peers.py [--repeats 9] [--big-repeats 3] [--refresh] [--smoke]"""
import os, sys
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
    os.environ[_v] = "1"                                     # one thread, set before numpy / numba / cv2 load
os.environ["NUMBA_NUM_THREADS"] = "2"      # a pool of 2 for the threads=2 row only; every other call runs on 1 thread
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # its threads sleep after each parallel region instead of spinning beside the
                                           # one-thread calls that follow (on 2 cores that slowed them by up to 50 %)
import argparse, hashlib, re, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".venv-peers"
REQS = ROOT / "benchmarks" / "peers-requirements.txt"
NO_DEPS = ["blurgenerator==1.1.0"]          # its only requirement, opencv-python, would clash with the headless cv2
STAMP = VENV / ".installed"
GUARD = "DEBLUR_BENCH_PEERS_CHILD"
BLUR_PX = 9.0                                # wanted max blur: start→end displacement of the nearest point, px
EXPOSURE = 0.05                              # s
SIZES = ((240, 320), (1080, 1920))

# ---------------------------------------------------------------------------------------------- the peers' venv
def venv_python(): return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

def in_peers_venv(): return Path(sys.prefix).resolve() == VENV.resolve()

def wanted_stamp():
    "What the venv was built from: the requirements, the --no-deps pins, pyproject.toml and the python version."
    h = hashlib.sha256(REQS.read_bytes() + " ".join(NO_DEPS).encode() + (ROOT / "pyproject.toml").read_bytes())
    return f"{h.hexdigest()} python {sys.version_info.major}.{sys.version_info.minor}\n"

def ensure_venv(refresh=False):
    "Create benchmarks/.venv-peers, or refresh it when its requirements changed (or `refresh`)."
    want = wanted_stamp()
    ok = venv_python().exists() and STAMP.exists() and STAMP.read_text() == want
    if ok and not refresh: return
    t = time.perf_counter()
    print(f"bench_peers: {'refreshing' if venv_python().exists() else 'creating'} {VENV.relative_to(ROOT)} ...",
          flush=True)
    if refresh or not venv_python().exists():               # --refresh starts from an empty venv
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(REQS)], check=True)
    subprocess.run(pip + ["--no-deps"] + NO_DEPS, check=True)
    subprocess.run(pip + ["--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(want)
    print(f"bench_peers: venv ready in {time.perf_counter() - t:.0f} s", flush=True)

def reexec_in_venv(argv):
    "Build the venv if needed and replace this process by the script running in it."
    if os.environ.get(GUARD): sys.exit(f"bench_peers: re-executed in {venv_python()} but sys.prefix is {sys.prefix}")
    ensure_venv("--refresh" in argv)
    os.environ[GUARD] = "1"
    os.environ.pop("PYTHONHOME", None)
    py = str(venv_python())
    os.execv(py, [py, str(Path(__file__).resolve())] + [a for a in argv if a != "--refresh"])

# ---------------------------------------------------------------------------------------------- the benchmark
def interleaved_ms(fns, repeats):
    """Median wall time in ms of each function in `fns` (a dict), after one warm-up call each (numba JIT, caches).
    The calls take turns, so a change in machine load during the run hits every tool alike and the ratios hold."""
    import numpy as np
    for f in fns.values(): f()
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t)
    return {k: 1e3 * float(np.median(v)) for k, v in ts.items()}

def sideways(scene, blur_px=BLUR_PX, exposure=EXPOSURE):
    "Constant-velocity translation along x (R = I) moving the nearest point by `blur_px` pixels over the exposure."
    import numpy as np
    from deblur_nbdev.blur_model import valid_depth
    from deblur_nbdev.camera_motion import Poses
    zmin = float(scene.depth[valid_depth(scene.depth)].min())
    tx = blur_px * zmin / float(scene.K[0, 0])              # dx = fx·tx / z for a pure sideways move
    return Poses(np.repeat(np.eye(3)[None], 2, 0), [[0, 0, 0], [tx, 0, 0]], [0.0, exposure])

def pick_sf(synthesize, scene, poses):
    "`sf=None` (adaptive pose count) when the installed `synthesize` takes it, else a fixed exposure/15."
    import numpy as np
    try:
        img, d = np.ascontiguousarray(scene.image[:32, :32]), np.ascontiguousarray(scene.depth[:32, :32])
        synthesize(img, d, scene.K, poses, EXPOSURE, None, backend="numba")
        return None, "sf=None (adaptive pose count)"
    except (TypeError, ValueError) as e:
        return EXPOSURE / 15, f"sf=exposure/15 fixed (this synthesize rejects sf=None: {type(e).__name__}: {e})"

def blurgen_setup(scene, blur_px=BLUR_PX):
    """blurgenerator's inputs: a uint8 BGR 'depth' map where brighter = more blur (disparity, ∝ our blur) and the band
    blur lengths from `blur_px`·zmin/zmax + 1 (farthest) to `blur_px` + 1 (nearest band) pixels."""
    import numpy as np
    from blurgenerator import depth as bgd
    from deblur_nbdev.blur_model import valid_depth
    v = valid_depth(scene.depth)
    z = np.where(v, scene.depth, np.inf)
    zmin, zmax = float(scene.depth[v].min()), float(scene.depth[v].max())
    disp = (1 / z - 1 / zmax) / (1 / zmin - 1 / zmax)
    dm = np.repeat(np.clip(np.rint(255 * disp), 0, 255).astype(np.uint8)[..., None], 3, 2)
    lo = max(1, int(round(1 + blur_px * zmin / zmax)))
    want = int(round(blur_px)) + 1                          # a box of L pixels smears a point over L − 1 px
    for hi in range(want, 4 * want):                       # their band blur is int(lerp(band's lower edge)): search
        lengths = [a for a, _ in bgd.blur_with_depth(dm, num_layers=10, min_blur=lo, max_blur=hi)]
        if max(lengths) >= want: break
    return dm, dict(angle=0, num_layers=10, min_blur=lo, max_blur=hi), lengths

def impulse_extent(fn, h=41, w=41):
    "Horizontal extent − 1 (px) of `fn`'s response to a single bright pixel: the motion a box kernel encodes."
    import numpy as np
    img = np.zeros((h, w, 3), np.uint8)
    img[h // 2, w // 2] = 255
    out = np.asarray(fn(img)).astype(np.float32)[..., 0]
    xs = np.flatnonzero(out.max(0) > 0)
    return float(xs.max() - xs.min()) if xs.size else 0.0

# ---------------------------------------------------------------------------------------------- where our time goes
SERIAL = "synthesis._blur_serial_nb"         # the numba loop of one-thread synthesis, split by `replay_serial`
SERIAL_KERNELS = ("landings_nb", "_scatter_nb", "_accumulate_points_nb", "zbuffer_pose_nb", "_accumulate_keys_nb")

def _code_names(code):
    "Global names that a code object and the code nested in it (lambdas, comprehensions) refer to."
    names = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"): names |= _code_names(c)
    return names

def _ours(obj):
    "The deblur_nbdev function or numba kernel `obj` is (its `py_func` for a kernel), else None."
    import inspect
    f = getattr(obj, "py_func", obj)
    return f if inspect.isfunction(f) and f.__module__.startswith("deblur_nbdev.") else None

def stage_name(obj):
    f = _ours(obj)
    return f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}"

def find_stages(fn, depth=8):
    """Every deblur_nbdev function or numba kernel that a Python function of deblur_nbdev reachable from `fn` calls by
    its global name: `[(globals dict, name, object)]`. Found in the code as it is now, so the breakdown follows the
    code; followed through Python functions only (compiled numba code never sees a Python wrapper)."""
    import inspect
    found, seen = {}, set()
    def visit(f, d):
        f = inspect.unwrap(f)
        if f in seen or d < 0: return
        seen.add(f)
        for n in sorted(_code_names(f.__code__)):
            obj = f.__globals__.get(n)
            if _ours(obj) is None: continue
            found.setdefault((id(f.__globals__), n), (f.__globals__, n, obj))
            if not hasattr(obj, "py_func"): visit(obj, d - 1)
    visit(fn, depth)
    return list(found.values())

class StageTimer:
    """Wall time of each wrapped stage *without* the wrapped stages it calls (its own time), its call count and the
    stages it was called from (`top` when no wrapped stage encloses the call)."""
    def __init__(self, capture=(), top="synthesize"):
        self.capture, self.captured, self.top, self.stack = set(capture), {}, top, []
        self.reset()
    def reset(self): self.own, self.calls, self.callers, self.overhead = {}, {}, {}, 0.0
    def wrap(self, name, f):
        import numpy as np
        def copy(a):                      # the captured arguments: its time is the timer's, no stage's (`overhead`)
            t = time.perf_counter()
            out = [np.copy(x) if isinstance(x, np.ndarray) else x for x in a]
            dt = time.perf_counter() - t
            self.overhead += dt
            if self.stack: self.stack[-1][1] += dt
            return out
        def timed(*a, **k):
            before = copy(a) if name in self.capture else None
            self.callers.setdefault(name, set()).add(self.stack[-1][0] if self.stack else self.top)
            self.stack.append([name, 0.0])
            t = time.perf_counter()
            try: return f(*a, **k)
            finally:
                dt = time.perf_counter() - t
                inner = self.stack.pop()[1]
                self.own[name] = self.own.get(name, 0.0) + dt - inner
                self.calls[name] = self.calls.get(name, 0) + 1
                if self.stack: self.stack[-1][1] += dt
                if before is not None: self.captured[name] = (before, copy(a))
        return timed

def replay_serial(syn, captured):
    """Split the one-thread numba loop `_blur_serial_nb` by calling its kernels from Python, pose by pose, on the
    arguments of the profiled call: sub-pixel points per source pixel (pass 1 with landing points, scatter, gather) or,
    for the nearest pixel and target-row colour, z-buffer and accumulation. Returns `(seconds per kernel over all poses,
    poses, None)`, or `(None, 0, why)` when the replay no longer matches the code (other kernels, other bits)."""
    import numpy as np
    if captured is None: return None, 0, f"{SERIAL} was not called"
    fns = [getattr(syn, n, None) for n in SERIAL_KERNELS]
    if None in fns: return None, 0, f"synthesis has no {SERIAL_KERNELS[fns.index(None)]}"
    before, after = captured
    try:
        img, d, P, wts, hd, wd, subpix, trows, acc, wsum, hits = before
        points = subpix and not (trows and P.shape[1] > 1)              # as _blur_serial_nb
        best = dict.fromkeys(SERIAL_KERNELS, np.inf)
        for rep in range(3):                     # the first compiles the kernels' Python entry; the least of the others
            out = [np.copy(acc), np.copy(wsum), np.copy(hits)]
            tgt, zs, keys = np.empty(d.size, np.int32), np.empty(d.size, np.float32), np.empty(hd * wd, np.uint64)
            q = np.empty((2, d.size if points else 1), np.float32)
            spent = dict.fromkeys(SERIAL_KERNELS, 0.0)
            for j in range(P.shape[0]):
                pts = [(d, P[j], hd, wd, tgt, zs, q), (tgt, zs, keys), (img, q, 0, keys, 0, wts[j], *out)]
                rest = [(d, P[j], hd, wd, keys, tgt, zs, trows), (img, d, P[j], keys, wts[j], subpix, trows, *out)]
                calls = pts + [None, None] if points else [None, None, None] + rest
                for name, f, a in zip(SERIAL_KERNELS, fns, calls):
                    if a is None: continue
                    t = time.perf_counter()
                    f(*a)
                    spent[name] += time.perf_counter() - t
            if rep: best = {k: min(best[k], spent[k]) for k in best}
    except Exception as e:                                         # signatures changed: the replay is stale
        return None, 0, f"replay failed ({type(e).__name__}: {e})"
    if any(x.tobytes() != y.tobytes() for x, y in zip(out, after[8:11])):
        return None, 0, "the replayed kernels do not give the loop's bits"
    return best, P.shape[0], None

def profile_stages(syn, run, repeats):
    """One `synthesize` call (`run`) broken into the stages it really runs now (`find_stages`): each stage's own time,
    from the run with the median total of `repeats`; the own times plus 'synthesize itself' add up to the total."""
    stages = find_stages(syn.synthesize)
    timer = StageTimer(capture=[SERIAL])
    run()                                             # compile first: compiled code must never meet a wrapper
    runs = []
    try:
        for g, n, obj in stages: g[n] = timer.wrap(stage_name(obj), obj)
        for _ in range(max(1, repeats)):
            timer.reset()
            t = time.perf_counter()
            run()
            runs.append((time.perf_counter() - t - timer.overhead, timer.own, timer.calls, timer.callers))
    finally:
        for g, n, obj in stages: g[n] = obj
    total, own, calls, callers = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    split, poses, stale = replay_serial(syn, timer.captured.get(SERIAL))
    return dict(total=total, own=own, calls=calls, callers=callers, split=split, poses=poses, stale=stale,
                serial_called=SERIAL in own, runs=len(runs))

def print_profile(size, p, min_share=0.005):
    "The breakdown of `profile_stages`, largest own time first; stages under `min_share` of the total in one line."
    tot = p["total"]
    pct = lambda v: f"{1e3 * v:9.2f} {100 * v / tot:5.1f}%"
    print(f"  {size}: synthesize {1e3 * tot:.2f} ms (the median of {p['runs']} timed run(s), stage wrappers included, "
          "their copies of the loop's arguments left out)")
    rows = sorted(p["own"].items(), key=lambda kv: -kv[1])
    small = [(n, v) for n, v in rows if v < min_share * tot]
    for n, v in rows:
        if v < min_share * tot: continue
        by = ", ".join(c.split(".")[-1] for c in sorted(p["callers"][n]))
        print(f"    {pct(v)}  {n} ×{p['calls'][n]}  ← {by}")
        if n == SERIAL and p["split"]:
            sp, rt = p["split"], sum(p["split"].values())
            print(f"{'':21s}  its kernels replayed from Python pose by pose (same bits; {1e3 * rt:.2f} ms against "
                  f"{1e3 * v:.2f} in the loop):")
            print(f"{'':21s}  " + " | ".join(f"{k} {100 * t / rt:.0f}% ({1e3 * t / p['poses']:.3f} ms/pose)"
                                             for k, t in sp.items() if t))
    if small:
        print(f"    {pct(sum(v for _, v in small))}  {len(small)} smaller stages (< {100 * min_share:g}% each): "
              + ", ".join(n for n, _ in small))
    print(f"    {pct(tot - sum(p['own'].values()))}  synthesize itself (between the stages)")
    print(f"    {pct(tot)}  total")
    if p["serial_called"] and p["stale"]: print(f"    {SERIAL} not split: {p['stale']}")

def profile_problems(p):
    "Why the breakdown no longer describes the code (checked by --smoke), or []."
    out = []
    rest = p["total"] - sum(p["own"].values())
    if rest > 0.5 * p["total"]: out.append(f"'synthesize itself' is {100 * rest / p['total']:.0f}% of the time: the "
                                           "stages were not found")
    if p["serial_called"] and p["stale"]: out.append(f"{SERIAL} is not split: {p['stale']} (update replay_serial)")
    return out

# ---------------------------------------------------------------------------------------------- the peers' imports
def _norm(name): return re.sub(r"[-_.]+", "-", name).lower()

def requirement_names():
    "Distributions the peers' venv installs: peers-requirements.txt and the --no-deps pins, normalised."
    lines = REQS.read_text().splitlines() + NO_DEPS
    return {_norm(re.split(r"[<>=!~\[;\s]", s.split("#")[0].strip())[0]) for s in lines if s.split("#")[0].strip()}

def _import_time(body):
    "The import statements that run when a module loads (not those inside functions)."
    import ast
    for n in body:
        if isinstance(n, (ast.Import, ast.ImportFrom)): yield n
        elif not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody", "handlers"): yield from _import_time(getattr(n, field, []))

def missing_peer_requirements():
    """Packages that the deblur_nbdev modules loaded in this process import when they load, but that the peers' venv
    does not install (e.g. fastcore, issue 24): `{module: why}`. Checked without building the venv."""
    import ast, importlib.metadata as md
    dists, want, missing = md.packages_distributions(), requirement_names(), {}
    for name, mod in sorted(sys.modules.items()):
        if not name.startswith("deblur_nbdev") or not getattr(mod, "__file__", None): continue
        for n in _import_time(ast.parse(Path(mod.__file__).read_text()).body):
            if isinstance(n, ast.ImportFrom) and n.level: continue
            for top in ([n.module] if isinstance(n, ast.ImportFrom) else [a.name for a in n.names]):
                top = top.split(".")[0]
                if top in sys.stdlib_module_names or top in ("deblur_nbdev", "__future__"): continue
                have = dists.get(top, [])
                if not any(_norm(d) in want for d in have):
                    missing[top] = (f"{name} imports it; the distribution {'/'.join(have)} is not in "
                                    f"{REQS.name}" if have else f"{name} imports it; not installed here")
    return missing

SMOKE_SIZES = ((48, 64),)

def peer_rows(sc, img, fns):
    "Add blurgenerator and albumentations to the timed functions `fns`; the blur each one makes, for the table."
    import albumentations as A, blurgenerator
    dm, kw, lengths = blurgen_setup(sc)
    k = int(round(BLUR_PX)) | 1                                              # MotionBlur wants an odd kernel size
    mb = A.Compose([A.MotionBlur(blur_limit=(k, k), angle_range=(0, 0), direction_range=(0, 0),
                                 allow_shifted=False, p=1.0)], seed=0)
    fns.update(bg=lambda: blurgenerator.motion_blur_with_depth_map(img, dm, **kw), al=lambda: mb(image=img)["image"])
    al_blur = impulse_extent(lambda im: mb(image=im)["image"])
    return dict(bg_blur=f"bands {min(lengths)}–{max(lengths)} px long, max {max(lengths) - 1} px motion "
                        f"({len(lengths)} bands, min_blur={kw['min_blur']}, max_blur={kw['max_blur']})",
                al_blur=f"kernel {k} px, {al_blur:.0f} px motion (impulse response)")

def main(repeats=9, big_repeats=3, sizes=SIZES, peers=True):
    "The table, the blur each tool made, the target and where our time goes; `peers=False`: ours only. Problems."
    import inspect, numpy as np, cv2, numba
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    import deblur_nbdev.synthesis as syn
    from deblur_nbdev.scenes import procedural_scene
    vers = f"python {sys.executable} | numpy {np.__version__} | numba {numba.__version__} | cv2 {cv2.__version__}"
    if peers:
        import albumentations as A, blurgenerator
        vers += f" | blurgenerator {blurgenerator.__version__} | albumentations {A.__version__}"
    print(vers + " | threads: 1")
    small = procedural_scene(seed=0, height=sizes[0][0], width=sizes[0][1])
    sf, sf_note = pick_sf(syn.synthesize, small, sideways(small))
    print(f"ours: synthesize(..., {sf_note}, backend='numba', threads=1), sideways translation, exposure {EXPOSURE} s")
    if peers:
        print("blurgenerator: motion_blur_with_depth_map (depth bands, box blur per band, angle 0)")
        print("albumentations: MotionBlur(horizontal, not shifted, p=1, seed 0); all three get the same uint8 image")
    has_subpixel = "subpixel" in inspect.signature(syn.synthesize).parameters
    rows, profiles, nearest, two = [], [], [], []
    for (h, w), reps in zip(sizes, (repeats, big_repeats)):
        sc = procedural_scene(seed=0, height=h, width=w)
        img = np.clip(np.rint(sc.image * 255), 0, 255).astype(np.uint8)     # the one image every tool gets
        poses = sideways(sc)
        ours = lambda: syn.synthesize(img, sc.depth, sc.K, poses, EXPOSURE, sf, backend="numba", threads=1)
        b = ours()
        row = dict(size=f"{h}×{w}", poses=len(b.times), our_blur=float(np.linalg.norm(b.kernel, axis=-1).max()))
        fns = dict(ours=ours)
        if peers: row.update(peer_rows(sc, img, fns))
        if has_subpixel:                                     # the cost of sub-pixel splatting, for the record
            fns["nearest"] = lambda: syn.synthesize(img, sc.depth, sc.K, poses, EXPOSURE, sf, subpixel=False,
                                                    backend="numba", threads=1)
        fns["two"] = lambda: syn.synthesize(img, sc.depth, sc.K, poses, EXPOSURE, sf, backend="numba", threads=2)
        t = interleaved_ms(fns, reps)
        row.update(ours=t["ours"], bg=t.get("bg"), al=t.get("al"))
        if has_subpixel:
            vs = f" ({t['nearest'] / t['bg']:.2f}× blurgenerator)" if peers else ""
            nearest.append(f"{h}×{w} {t['nearest']:.2f} ms{vs}")
        vs = f" ({t['two'] / t['bg']:.2f}× blurgenerator)" if peers else ""
        two.append(f"{h}×{w} {t['two']:.2f} ms{vs}")
        rows.append(row)
        profiles.append((f"{h}×{w}", profile_stages(syn, ours, reps)))
    print(f"\n{'size':>10s} {'ours ms':>9s} {'blurgen ms':>11s} {'album. ms':>10s} {'ours/blurgen':>13s} "
          f"{'ours/album.':>12s} {'poses':>6s}")
    for r in rows:
        if peers:
            print(f"{r['size']:>10s} {r['ours']:9.2f} {r['bg']:11.2f} {r['al']:10.2f} {r['ours'] / r['bg']:12.2f}× "
                  f"{r['ours'] / r['al']:11.2f}× {r['poses']:6d}")
        else:
            dash = [f"{'—':>{n}s}" for n in (11, 10, 13, 12)]
            print(f"{r['size']:>10s} {r['ours']:9.2f} {' '.join(dash)} {r['poses']:6d}")
    print("\nblur achieved (start→end motion of the nearest point)")
    for r in rows:
        theirs = f" | blurgenerator {r['bg_blur']} | albumentations {r['al_blur']}" if peers else ""
        print(f"  {r['size']}: ours {r['our_blur']:.2f} px max (kernel map){theirs}")
    if peers:
        met = all(r["ours"] <= r["bg"] for r in rows)
        ratios = ", ".join(f"{r['ours'] / r['bg']:.2f}× at {r['size']}" for r in rows)
        print(f"\ntarget ours ≤ 1.0× blurgenerator at both sizes: {'met' if met else 'NOT met'} ({ratios})")
    if nearest: print("ours with subpixel=False (nearest-pixel splats instead of sub-pixel): " + " | ".join(nearest))
    print("ours with threads=2 (bands of rows on 2 numba threads, the same bits): " + " | ".join(two))
    print("\nwhere our time goes (ms and share of one synthesize call: each stage's own time, without the stages it "
          "calls,\nso the lines add up to the total; stages found in the code that synthesize runs now)")
    for size, p in profiles: print_profile(size, p)
    return [f"{size}: {s}" for size, p in profiles for s in profile_problems(p)]

def venv_current():
    "Does benchmarks/.venv-peers exist, built from the current requirements (so that it starts without pip)?"
    return venv_python().exists() and STAMP.exists() and STAMP.read_text() == wanted_stamp()

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9, help="timed calls per tool at 240×320 (median)")
    ap.add_argument("--big-repeats", type=int, default=3, help="timed calls per tool at 1080×1920 (median)")
    ap.add_argument("--refresh", action="store_true", help="reinstall the peers' venv")
    ap.add_argument("--smoke", action="store_true", help="a few seconds at 48×64, one timed call: that it starts "
                    "(the peers only when their venv is already built)")
    a = ap.parse_args()
    peers = True
    if not in_peers_venv():
        if not a.smoke or venv_current(): reexec_in_venv(sys.argv[1:])
        peers = False
        print(f"bench_peers --smoke: peers skipped, {VENV.relative_to(ROOT)} is "
              f"{'out of date' if venv_python().exists() else 'absent'} (a run without --smoke builds it); "
              f"timing our side only, in {sys.executable}", flush=True)
    t0 = time.perf_counter()
    if a.smoke: problems = main(1, 1, SMOKE_SIZES, peers)
    else: problems = main(a.repeats, a.big_repeats, SIZES, peers)
    missing = missing_peer_requirements()
    print(f"\n{REQS.relative_to(ROOT)} covers the packages that the deblur_nbdev modules loaded here import: "
          + ("yes" if not missing else "NO"))
    for top, why in missing.items(): print(f"  missing: {top} ({why})")
    for s in problems: print(f"the time breakdown no longer matches the code: {s}")
    print(f"\nwall time of the benchmark (venv ready): {time.perf_counter() - t0:.1f} s")
    if a.smoke and (missing or problems): sys.exit(1)
