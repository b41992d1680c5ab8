"Alignment (10_alignment): accuracy on another simulator seed, and `deblur_align` run in a subprocess (the constructed cases are in the notebook)."
import json
import numpy as np, pytest
import subprocess, sys
from pathlib import Path
from deblur_nbdev.alignment import align_view, zed_pose
from deblur_nbdev.rig_sim import default_rig, simulate_capture
from deblur_nbdev.rig_dataset import write_capture_files

BIN = Path(sys.executable).parent
def run(cmd, *args, cwd=None):
    return subprocess.run([str(BIN / cmd), *args], capture_output=True, text=True, cwd=cwd, timeout=600)

@pytest.fixture(scope="module")
def sim():
    rig = default_rig(0.5)
    return rig, simulate_capture(rig, seed=3)

def test_alignment_matches_the_simulator_truth(sim):
    rig, cap = sim
    ze, ph, ds = rig["zed"], rig["phone"], rig["dslr"]
    al = align_view(cap.zed.image, cap.zed.depth, ze.K, ph.K, ph.size, *zed_pose(rig, "phone"), cap.dslr.image, ds.K, *zed_pose(rig, "dslr"))
    v = al.valid & (cap.sharp.depth > 0)
    assert v.mean() > 0.85
    dep = np.abs(al.depth[v] - cap.sharp.depth[v]) / cap.sharp.depth[v]
    col = np.abs(al.image - cap.sharp.image).max(-1)[v]
    assert np.median(dep) < 0.005 and np.percentile(dep, 90) < 0.02
    assert np.median(col) < 0.02 and col.mean() < 0.05

def test_deblur_align_command(sim, tmp_path):
    rig, cap = sim
    csv_path = write_capture_files([cap, cap], tmp_path / "s")
    rows = csv_path.read_text().splitlines()
    import cv2
    cv2.imwrite(str(tmp_path / "s" / "big_phone.png"), np.zeros((480, 640, 3), np.uint8))    # wrong resolution
    np.save(tmp_path / "s" / "nodepth.npy", np.zeros((180, 320), np.float32))                # all-invalid depth
    f = rows[2].split(","); f[0] = "big_phone.png"; rows[2] = ",".join(f)
    f = rows[1].split(","); rows.append(",".join(["x_" + f[0]] + f[1:3] + ["nodepth.npy"] + f[4:]))
    import shutil; shutil.copy(tmp_path / "s" / f[0], tmp_path / "s" / ("x_" + f[0]))
    csv_path.write_text("\n".join(rows) + "\n")
    r = run("deblur_align", "--rig", str(tmp_path / "s" / "rig.json"), "--captures", str(csv_path), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "o" / "align_report.json").read_text())
    assert rep["aligned"] == ["cap000_phone"] and [x["capture"] for x in rep["failed"]] == ["big_phone", "x_cap000_phone"]
    assert "640×480" in rep["failed"][0]["error"] and "no valid depth" in rep["failed"][1]["error"]
    assert np.load(tmp_path / "o" / "cap000_phone_depth.npy").shape == (240, 320)
    assert "skipped" in r.stderr
    r = run("deblur_align", "--rig", str(tmp_path / "s" / "rig.json"), "--phone", "missing.png", "--dslr", "a", "--zed", "b",
            "--zed_depth", "c", "--out", str(tmp_path / "o2"), cwd=tmp_path)
    assert r.returncode != 0 and "missing.png" in r.stderr and "Traceback" not in r.stderr
    r = run("deblur_align", "--captures", str(csv_path))
    assert r.returncode != 0 and "--rig" in r.stderr

