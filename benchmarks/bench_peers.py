"""Our depth-aware blur synthesis against the PyPI blur tools: same images, one run, one thread (issue #11).

Times `deblur_nbdev.synthesis.synthesize` (sideways camera translation, numba backend), blurgenerator's
`motion_blur_with_depth_map` (depth bands, one box blur per band) and albumentations' `MotionBlur` (one kernel for the
whole image) on the same uint8 procedural RGB-D scene at 240×320 and 1080×1920, each set for a ~9 px blur. Prints
the median times (the tools take turns, so load changes hit all alike), the ratios, the blur each tool achieved and
where our time goes. Target: ours ≤ 1.0× blurgenerator at both sizes, printed as met / not met from the ratio
measured in this run (no pass/fail, exit 0).

The peers pull dependencies the project does not want, so the script runs in its own virtual environment,
benchmarks/.venv-peers (git-ignored): any python3 creates or refreshes it (benchmarks/peers-requirements.txt,
blurgenerator with --no-deps, the project with `pip install --no-deps -e .`) and re-executes the script inside it.
Usage: python3 benchmarks/bench_peers.py [--repeats 9] [--big-repeats 3] [--refresh]"""
import os, sys
for _v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
    os.environ[_v] = "1"                                     # one thread, set before numpy / numba / cv2 load
import argparse, hashlib, subprocess, time
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

def profile_stages(syn_mod, run, repeats):
    """Median ms of each stage of one `synthesize` call: every module-level function it calls is wrapped and timed
    (outermost calls only, so a stage calling another is not counted twice); 'other' is the rest."""
    import inspect, numpy as np
    names = [n for n in syn_mod.synthesize.__code__.co_names
             if inspect.isfunction(getattr(syn_mod, n, None)) and n != "synthesize"]
    orig = {n: getattr(syn_mod, n) for n in names}
    acc, depth = dict.fromkeys(names, 0.0), [0]
    def wrap(n):
        f = orig[n]
        def g(*a, **k):
            depth[0] += 1
            t = time.perf_counter()
            try: return f(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0: acc[n] += time.perf_counter() - t
        return g
    rows = {n: [] for n in names + ["other", "total"]}
    try:
        for n in names: setattr(syn_mod, n, wrap(n))
        run()
        for _ in range(repeats):
            for n in names: acc[n] = 0.0
            t = time.perf_counter()
            run()
            total = time.perf_counter() - t
            for n in names: rows[n].append(acc[n])
            rows["other"].append(total - sum(acc.values()))
            rows["total"].append(total)
    finally:
        for n in names: setattr(syn_mod, n, orig[n])
    med = {n: 1e3 * float(np.median(v)) for n, v in rows.items()}
    return {n: v for n, v in sorted(med.items(), key=lambda kv: -kv[1]) if v >= 0.005 or n == "total"}

def main(repeats=9, big_repeats=3):
    import inspect, numpy as np, cv2, numba
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    import albumentations as A, blurgenerator
    import deblur_nbdev.synthesis as syn
    from deblur_nbdev.scenes import procedural_scene
    print(f"python {sys.executable} | numpy {np.__version__} | numba {numba.__version__} | cv2 {cv2.__version__} | "
          f"blurgenerator {blurgenerator.__version__} | albumentations {A.__version__} | threads: 1")
    small = procedural_scene(seed=0, height=SIZES[0][0], width=SIZES[0][1])
    sf, sf_note = pick_sf(syn.synthesize, small, sideways(small))
    print(f"ours: synthesize(..., {sf_note}, backend='numba', threads=1), sideways translation, exposure {EXPOSURE} s")
    print("blurgenerator: motion_blur_with_depth_map (depth bands, box blur per band, angle 0)")
    print("albumentations: MotionBlur(horizontal, not shifted, p=1, seed 0); all three get the same uint8 image")
    has_subpixel = "subpixel" in inspect.signature(syn.synthesize).parameters
    rows, profiles, nearest = [], [], []
    for (h, w), reps in zip(SIZES, (repeats, big_repeats)):
        sc = procedural_scene(seed=0, height=h, width=w)
        img = np.clip(np.rint(sc.image * 255), 0, 255).astype(np.uint8)     # the one image every tool gets
        poses = sideways(sc)
        ours = lambda: syn.synthesize(img, sc.depth, sc.K, poses, EXPOSURE, sf, backend="numba", threads=1)
        b = ours()
        our_blur = float(np.linalg.norm(b.kernel, axis=-1).max())
        dm, kw, lengths = blurgen_setup(sc)
        k = int(round(BLUR_PX)) | 1                                          # MotionBlur wants an odd kernel size
        mb = A.Compose([A.MotionBlur(blur_limit=(k, k), angle_range=(0, 0), direction_range=(0, 0),
                                     allow_shifted=False, p=1.0)], seed=0)
        fns = dict(ours=ours, bg=lambda: blurgenerator.motion_blur_with_depth_map(img, dm, **kw),
                   al=lambda: mb(image=img)["image"])
        if has_subpixel:                                     # the cost of sub-pixel splatting, for the record
            fns["nearest"] = lambda: syn.synthesize(img, sc.depth, sc.K, poses, EXPOSURE, sf, subpixel=False,
                                                    backend="numba", threads=1)
        t = interleaved_ms(fns, reps)
        t_ours, t_bg, t_al = t["ours"], t["bg"], t["al"]
        if has_subpixel: nearest.append(f"{h}×{w} {t['nearest']:.2f} ms ({t['nearest'] / t_bg:.2f}× blurgenerator)")
        al_blur = impulse_extent(lambda im: mb(image=im)["image"])
        rows.append(dict(size=f"{h}×{w}", ours=t_ours, bg=t_bg, al=t_al, poses=len(b.times), our_blur=our_blur,
                         bg_blur=f"bands {min(lengths)}–{max(lengths)} px long, max {max(lengths) - 1} px motion "
                                 f"({len(lengths)} bands, min_blur={kw['min_blur']}, max_blur={kw['max_blur']})",
                         al_blur=f"kernel {k} px, {al_blur:.0f} px motion (impulse response)"))
        profiles.append((f"{h}×{w}", profile_stages(syn, ours, reps)))
    print(f"\n{'size':>10s} {'ours ms':>9s} {'blurgen ms':>11s} {'album. ms':>10s} {'ours/blurgen':>13s} "
          f"{'ours/album.':>12s} {'poses':>6s}")
    for r in rows:
        print(f"{r['size']:>10s} {r['ours']:9.2f} {r['bg']:11.2f} {r['al']:10.2f} {r['ours'] / r['bg']:12.2f}× "
              f"{r['ours'] / r['al']:11.2f}× {r['poses']:6d}")
    print("\nblur achieved (start→end motion of the nearest point)")
    for r in rows:
        print(f"  {r['size']}: ours {r['our_blur']:.2f} px max (kernel map) | blurgenerator {r['bg_blur']} | "
              f"albumentations {r['al_blur']}")
    met = all(r["ours"] <= r["bg"] for r in rows)
    ratios = ", ".join(f"{r['ours'] / r['bg']:.2f}× at {r['size']}" for r in rows)
    print(f"\ntarget ours ≤ 1.0× blurgenerator at both sizes: {'met' if met else 'NOT met'} ({ratios})")
    if nearest: print("ours with subpixel=False (nearest-pixel splats instead of sub-pixel): " + " | ".join(nearest))
    print("\nwhere our time goes (median ms per synthesize call, stages wrapped in deblur_nbdev.synthesis)")
    for size, p in profiles:
        tot = p["total"]
        parts = " | ".join(f"{n} {v:.2f} ({100 * v / tot:.0f}%)" for n, v in p.items() if n != "total")
        print(f"  {size}: total {tot:.2f} | {parts}")

if __name__ == "__main__":
    if not in_peers_venv(): reexec_in_venv(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9, help="timed calls per tool at 240×320 (median)")
    ap.add_argument("--big-repeats", type=int, default=3, help="timed calls per tool at 1080×1920 (median)")
    ap.add_argument("--refresh", action="store_true", help="reinstall the peers' venv")
    a = ap.parse_args()
    t0 = time.perf_counter()
    main(a.repeats, a.big_repeats)
    print(f"\nwall time of the benchmark (venv ready): {time.perf_counter() - t0:.1f} s")
