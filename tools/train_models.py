"""`make models`: make the models that ship in the package, with the project's own commands only.

    .venv/bin/python tools/train_models.py [--variants blind,depth,kernel,depth+kernel,path] [--work runs/shipped]
    .venv/bin/python tools/train_models.py --photos [--n 1200]      # the refinement variants (refine, depth+refine)

1. `deblur_dataset` makes the training data (DATA below; the motorcycle held out in the test split) and a second
   test set drawn the same way with another seed (TEST).
2. `deblur_train` trains each variant (TRAIN below; --parallel of them at once) into training/<variant>; rerunning
   resumes from the last checkpoint, so the job may be stopped at any time and continued (also in a later session,
   from committed checkpoints).
3. One `deblur_evaluate` per test set scores all the models together (the slow baseline runs once); `ship_model` then
   copies each model (without optimizer state, sha256 recorded) into deblur_nbdev/models/ and records in models.json
   the exact commands, the dataset parameters, steps, training time and its part of the test tables. Nothing ships
   that has not finished its epochs.
"""
import argparse, json, os, shlex, subprocess, sys, time
from pathlib import Path

BIN = Path(sys.executable).parent
DATA = dict(n=2400, sources="procedural,motorcycle", n_scenes=240, height=240, width=320, focal="1.0,1.6",
            photons="1000,10000", read_noise="0,0.01", reference="mid", test_fraction=0.1, test_scenes="motorcycle",
            shard_size=16, seed=1)
TEST = dict(DATA, n=240, n_scenes=24, seed=2, test_fraction=0.5)   # drawn like the training data, another seed
TRAIN = dict(preset="cpu", epochs=30, steps_per_epoch=200, unet_depth=3, unet_width=16, crop="128,128", batch=8, seed=0)
# --photos (#23): the same scenes as photos (linear light, gain, JPEG, rolling shutter), kernels from perturbed motion
# (levels 0–2 of 06c_realism's KERNEL_ERRORS) and the deconvolution through them stored: the refinement variants'
# data.
# Two test sets of the same draws: perturbed kernels, and exact ones.
PHOTO = dict(t_readout=0.02, gain="1,1.5", jpeg="60,95", perturb=2.0, deconvolve=True)

def flags(d): return [f"--{k}" if v is True else f"--{k}={v}" for k, v in d.items()]

def run(cmd, log):
    "Run one command (echoed, its output appended to `log`), raising on failure."
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    with open(log, "a") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode: raise SystemExit(f"train_models: {cmd[0]} failed (exit {r.returncode}); see {log}")
    return " ".join(shlex.quote(str(c)) for c in [Path(cmd[0]).name, *cmd[1:]])

def train_all(variants, data, runs, parallel, log):
    "Train (or resume) every variant, `parallel` at a time, each `deblur_train` with cores/parallel threads; commands, times."
    cores = os.cpu_count() or 1
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(max(1, cores // parallel)),
               TF_NUM_INTEROP_THREADS=str(max(1, cores // parallel)))
    todo, running, done = list(variants), {}, {}
    while todo or running:
        while todo and len(running) < parallel:
            v = todo.pop(0)
            out = Path(runs) / v.replace("+", "_")
            cmd = [str(BIN / "deblur_train"), f"--data={data}", f"--out={out}", f"--variant={v}", "--no_val", "--quiet",
                   *flags(TRAIN)]
            print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
            f = open(Path(log).with_name(f"train_{out.name}.log"), "a")
            running[v] = (subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env), f, out, time.perf_counter(),
                          " ".join(shlex.quote(str(c)) for c in [Path(cmd[0]).name, *cmd[1:]]))
        time.sleep(2)
        for v, (p, f, out, t, c) in list(running.items()):
            if p.poll() is None: continue
            f.close()
            del running[v]
            if p.returncode: raise SystemExit(f"train_models: deblur_train {v} failed (exit {p.returncode}); see {f.name}")
            done[v] = dict(out=out, command=c, spent=time.perf_counter() - t)
            print(f"train_models: {v} trained ({done[v]['spent']:.0f} s this run)", flush=True)
    return {v: done[v] for v in variants}

def train_wall(out):
    "Training wall time of run `out`: per TensorBoard event file (one per start or resume), last − first event time."
    import tensorflow as tf
    spans = []
    for f in sorted((Path(out) / "tensorboard").rglob("events.out.tfevents.*")):
        t = [e.wall_time for e in tf.compat.v1.train.summary_iterator(str(f))]
        if len(t) > 1: spans.append(max(t) - min(t))
    return sum(spans) if spans else None

def table(results, v):
    "The part of a shared `deblur_evaluate` result that concerns variant `v`: its gains, the baseline's, PSNR, n."
    keep = lambda k: k.startswith(f"{v} − ") or k.endswith(f" − {v}") or k in ("baseline − blurry",
                                                                                  "deconvolution − blurry")
    shown = (v, "blurry", "baseline", "deconvolution")
    return {g: {k: c["psnr"]["mean"] for k, c in results["paired"][g].items() if keep(k)}
               | {f"{m} PSNR": c["psnr"]["mean"] for m, c in results["summary"][g].items() if m in shown}
               | dict(n=results["summary"][g]["blurry"]["n"])
            for g in results["groups"]}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=None, help="default: blind,depth,kernel,depth+kernel,path (with --photos: "
                    "refine,depth+refine)")
    ap.add_argument("--photos", action="store_true", help="photo datasets with perturbed kernels and deconvolutions")
    ap.add_argument("--n", type=int, default=2400, help="training-set size (the test sets get a tenth)")
    ap.add_argument("--work", default=None, help="datasets (regenerated bit-identically when missing; default "
                    "runs/shipped, with --photos runs/refine)")
    ap.add_argument("--runs", default="training", help="training runs, checkpoints included (committed, so a later "
                    "session resumes them)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--parallel", type=int, default=2, help="variants trained at once (a small U-Net keeps ~1.4 "
                    "cores busy; two at once, one thread each, do 1.37× the steps per second on 2 cores)")
    ap.add_argument("--no_ship", action="store_true", help="train and evaluate, but do not copy into the package")
    ap.add_argument("--eval_samples", type=int, default=None, help="score only the first N test images of each set")
    ap.add_argument("--no_baseline", action="store_true", help="leave the (slow at 240×320) path baseline out of the scores")
    a = ap.parse_args()
    work = Path(a.work or ("runs/refine" if a.photos else "runs/shipped"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "train_models.log"
    n_data = dict(n=a.n, n_scenes=a.n // 10)
    n_test = dict(n=a.n // 10, n_scenes=a.n // 100)
    d_data, d_test = {**DATA, **n_data}, {**TEST, **n_test}
    tests = {"test (seed 2)": (work / "test", d_test)}
    if a.photos:
        d_data, d_test = {**d_data, **PHOTO}, {**d_test, **PHOTO}
        tests = {"perturbed kernels (seed 2)": (work / "test_wrong", d_test),
                 "exact kernels (seed 2)": (work / "test_exact", {**d_test, "perturb": 0.0})}
    data = work / "data"
    make = lambda d, p: run([str(BIN / "deblur_dataset"), f"--out={d}", f"--workers={a.workers}", "--quiet", *flags(p)],
                            log)
    c_data = make(data, d_data)
    c_tests = {name: make(d, p) for name, (d, p) in tests.items()}
    from deblur_nbdev.pretrained import ship_model
    default = "refine,depth+refine" if a.photos else "blind,depth,kernel,depth+kernel,path"
    variants = (a.variants or default).split(",")
    runs = train_all(variants, data, a.runs, max(1, a.parallel), log)
    # one evaluation per test set for all variants: the (slow) baseline runs once, and the models share the images
    models = ",".join(f"{v}={r['out'] / 'model.keras'}" for v, r in runs.items())
    scores = {}
    sets = [(k, d) for k, (d, _) in tests.items()] + [("training set's test split (motorcycle held out)", data)]
    for name, d in sets:
        rep = Path(a.runs) / f"report-{d.name}"
        c_eval = run([str(BIN / "deblur_evaluate"), f"--data={d}", f"--models={models}", f"--out={rep}", "--examples=0",
                      "--quiet"] + ([f"--max_samples={a.eval_samples}"] if a.eval_samples else [])
                     + (["--no_baseline"] if a.no_baseline else []), log)
        scores[name] = (c_eval, json.loads((rep / "results.json").read_text()))
    for v, r in runs.items():
        out = r["out"]
        tables = {name: dict(command=c, groups=table(res, v)) for name, (c, res) in scores.items()}
        wall = train_wall(out)
        timing = dict(train_wall_s=None if wall is None else round(wall, 1), cpu_count=os.cpu_count(), gpu=False,
                      parallel=a.parallel,
                      how="sum over the training runs (one TensorBoard event file each) of last − first event time: "
                          "wall time without the pauses between resumed runs, sharing the cores with the other "
                          "trainings run at once")
        if not a.no_ship:
            e = ship_model(out, commands=[c_data, *c_tests.values(), r["command"]], test=tables, extra=dict(timing=timing))
            print(f"train_models: shipped {v} ({e['size_mb']} MB, {e['steps']} steps)", flush=True)

if __name__ == "__main__": main()
