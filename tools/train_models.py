"""`make models`: make the models that ship in the package, with the project's own commands only.

    .venv/bin/python tools/train_models.py [--variants blind,depth,kernel,depth+kernel,path] [--work runs/shipped]

1. `deblur_dataset` makes the training data (DATA below; the motorcycle held out in the test split) and a second
   test set drawn the same way with another seed (TEST).
2. `deblur_train` trains each variant (TRAIN below) into training/<variant>; rerunning resumes from the last checkpoint,
   so the job may be stopped at any time and continued (also in a later session, from committed checkpoints).
3. `deblur_evaluate` scores each finished model on both test sets; `ship_model` then copies it (without optimizer
   state, sha256 recorded) into deblur_nbdev/models/ and records in models.json the exact commands, the dataset
   parameters, steps, training time and the test table. Nothing ships that has not finished its epochs.
"""
import argparse, json, os, shlex, subprocess, sys, time
from pathlib import Path

BIN = Path(sys.executable).parent
DATA = dict(n=2400, sources="procedural,motorcycle", n_scenes=240, height=240, width=320, focal="1.0,1.6",
            photons="1000,10000", read_noise="0,0.01", reference="mid", test_fraction=0.1, test_scenes="motorcycle",
            shard_size=16, seed=1)
TEST = dict(DATA, n=240, n_scenes=24, seed=2, test_fraction=0.5)   # drawn like the training data, another seed
TRAIN = dict(preset="cpu", epochs=30, steps_per_epoch=200, unet_depth=3, unet_width=16, crop="128,128", batch=8, seed=0)

def flags(d): return [f"--{k}={v}" for k, v in d.items()]

def run(cmd, log):
    "Run one command (echoed, its output appended to `log`), raising on failure."
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    with open(log, "a") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode: raise SystemExit(f"train_models: {cmd[0]} failed (exit {r.returncode}); see {log}")
    return " ".join(shlex.quote(str(c)) for c in [Path(cmd[0]).name, *cmd[1:]])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="blind,depth,kernel,depth+kernel,path")
    ap.add_argument("--work", default="runs/shipped", help="datasets (regenerated bit-identically when missing)")
    ap.add_argument("--runs", default="training", help="training runs, checkpoints included (committed, so a later "
                    "session resumes them)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--no_ship", action="store_true", help="train and evaluate, but do not copy into the package")
    ap.add_argument("--eval_samples", type=int, default=None, help="score only the first N test images of each set")
    ap.add_argument("--no_baseline", action="store_true", help="leave the (slow at 240×320) path baseline out of the scores")
    a = ap.parse_args()
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True); log = work / "train_models.log"
    data, test = work / "data", work / "test"
    c_data = run([str(BIN / "deblur_dataset"), f"--out={data}", f"--workers={a.workers}", "--quiet", *flags(DATA)], log)
    c_test = run([str(BIN / "deblur_dataset"), f"--out={test}", f"--workers={a.workers}", "--quiet", *flags(TEST)], log)
    from deblur_nbdev.pretrained import ship_model
    for v in a.variants.split(","):
        out = Path(a.runs) / v.replace("+", "_")
        t = time.perf_counter()
        c_train = run([str(BIN / "deblur_train"), f"--data={data}", f"--out={out}", f"--variant={v}", "--no_val", "--quiet",
                       *flags(TRAIN)], log)
        spent = time.perf_counter() - t
        tables = {}
        for name, d in (("test (seed 2)", test), ("training set's test split (motorcycle held out)", data)):
            rep = out / f"report-{d.name}"
            c_eval = run([str(BIN / "deblur_evaluate"), f"--data={d}", f"--models={v}={out / 'model.keras'}", f"--out={rep}",
                          "--examples=0", "--quiet"] + ([f"--max_samples={a.eval_samples}"] if a.eval_samples else [])
                         + (["--no_baseline"] if a.no_baseline else []), log)
            r = json.loads((rep / "results.json").read_text())
            tables[name] = dict(command=c_eval, groups={
                g: {k: c["psnr"]["mean"] for k, c in r["paired"][g].items()} | {f"{m} PSNR": c["psnr"]["mean"] for m, c in r["summary"][g].items()}
                for g in r["groups"]})
        info = json.loads((out / "train.json").read_text())
        starts = [int(f.name.split(".")[3]) for f in (out / "tensorboard").rglob("events.out.tfevents.*")]
        wall = (out / "model.keras").stat().st_mtime - min(starts) if starts else None
        timing = dict(train_wall_s=None if wall is None else round(wall, 1), cpu_count=os.cpu_count(), gpu=False,
                      how="first TensorBoard event file → model.keras (wall time; includes pauses if resumed)")
        if not a.no_ship:
            e = ship_model(out, commands=[c_data, c_test, c_train], test=tables, extra=dict(timing=timing))
            print(f"train_models: shipped {v} ({e['size_mb']} MB, {e['steps']} steps)", flush=True)

if __name__ == "__main__": main()
