"Synchronisation properties (hypothesis) and the `deblur_sync` command in a subprocess. The constructed cases are cells of nbs/08_sync.ipynb."
import csv, json, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.rig_sim import default_rig, simulate_session, TimeBase
from deblur_nbdev.sync import fit_timebase, match_frames, write_session

BIN = Path(sys.executable).parent
def run(*args): return subprocess.run([str(BIN / "deblur_sync"), *map(str, args)], capture_output=True, text=True, timeout=300)

@settings(max_examples=25, deadline=None)
@given(st.floats(-100, 100), st.floats(-5e-4, 5e-4), st.floats(1, 50), st.integers(2, 6))
def test_fit_recovers_offset_and_drift(offset, drift, t0, n):
    tb = TimeBase(offset, drift)
    r = np.r_[t0 + np.arange(n) / 30, t0 + 60 + np.arange(n) / 30]
    f = fit_timebase(tb.to_cam(r), r)
    assert f.fit_drift and abs(f.timebase.offset - offset) < 1e-6 and abs(f.timebase.drift - drift) < 1e-9

@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=1, max_size=20), st.floats(10, 60))
def test_nearest_frame_is_nearest(photos, fps):
    frames = np.arange(0, 12, 1 / fps)
    m = match_frames(photos, frames, TimeBase())
    d = np.abs(frames[None] - np.asarray(photos)[:, None])
    np.testing.assert_allclose(np.abs(m.residual), d.min(1), atol=1e-12)
    assert not m.flagged.any()

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sync")
    ses = simulate_session(default_rig(0.25), duration=30, n_captures=6, seed=4)
    return ses, write_session(ses, d), d

def test_cli_writes_matches(files):
    ses, p, d = files
    r = run("--phone", p["phone"], "--videos", f"dslr={p['dslr']}", f"zed={p['zed']}", "--clocks", p["clocks"], "--out", d / "m")
    assert r.returncode == 0, r.stderr
    assert "dslr: offset" in r.stdout and "flagged 0" in r.stdout
    rows = list(csv.DictReader(open(d / "m.csv")))
    assert len(rows) == 12 and {r["video"] for r in rows} == {"dslr", "zed"}
    t_true = np.array([float(r["t_true"]) for r in rows if r["video"] == "dslr"])
    np.testing.assert_allclose(t_true, ses.t_captures, atol=1e-3)
    meta = json.loads((d / "m.json").read_text())
    assert abs(meta["clocks"]["zed"]["drift"] - ses.timebases["zed"].drift) < 2e-5
    for r in rows:
        truth = match_frames([float(r["t_true"])], ses.frames[r["video"]], ses.timebases[r["video"]])
        assert int(r["frame"]) == truth.frame[0]

def test_cli_bad_input_one_line(files):
    ses, p, d = files
    (d / "back.csv").write_text("t\n0.0\n0.5\n0.25\n")
    r = run("--phone", p["phone"], "--videos", f"dslr={d / 'back.csv'}", "--clocks", p["clocks"], "--out", d / "x")
    assert r.returncode != 0 and r.stderr.strip().splitlines() == ["deblur_sync: error: dslr: not monotonic: timestamp 2 (0.25) does not follow timestamp 1 (0.5)"]
    r = run("--phone", d / "nope.csv", "--videos", f"dslr={p['dslr']}", "--clocks", p["clocks"])
    assert r.returncode != 0 and "timestamp file not found" in r.stderr
    lines = Path(p["clocks"]).read_text().splitlines()
    (d / "clk.csv").write_text("\n".join(lines[:1] + [l for l in lines[1:] if not l.startswith("zed")] + ["zed,999999,1.0,reference"]) + "\n")
    r = run("--phone", p["phone"], "--videos", f"dslr={p['dslr']}", f"zed={p['zed']}", "--clocks", d / "clk.csv")
    assert r.returncode != 0 and "clock frame 999999 is outside the video" in r.stderr
    r = run("--phone", p["phone"], "--videos", f"zed={p['zed']}")
    assert r.returncode != 0 and "required" in r.stderr
