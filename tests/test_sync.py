"Synchronisation against the simulator's true clocks, and the `deblur_sync` command in a subprocess."
import csv, json, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.rig_sim import default_rig, simulate_session, TimeBase
from deblur_nbdev.sync import (check_timestamps, fit_timebase, match_frames, synchronise, write_session, read_timestamps,
                               read_clocks, clock_observations)

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

@pytest.mark.parametrize("seed", [0, 3])
def test_session_matches_truth(seed):
    ses = simulate_session(default_rig(0.25), duration=40, n_captures=15, seed=seed, drop=30)
    obs = lambda d: {n: (c.t_cam, c.reading) for n, c in d.items()}
    res = synchronise(ses.captures, ses.frames, obs(ses.reference), obs(ses.verification))
    for n, tb in ses.timebases.items():
        assert abs(res.timebases[n].offset - tb.offset) < 1e-3 and abs(res.timebases[n].drift - tb.drift) < 2e-5
    for v in ses.frames:
        truth = match_frames(ses.t_captures, ses.frames[v], ses.timebases[v])
        clear = np.abs(np.abs(truth.residual) - truth.interval / 2) > 2e-3
        assert (truth.frame == res.matches[v].frame)[clear].all()
        assert (truth.flagged == res.matches[v].flagged)[clear].all()

def test_bad_timestamps():
    with pytest.raises(ValueError, match="not monotonic"): check_timestamps([0, 1, 1], "x")
    with pytest.raises(ValueError, match="missing"): check_timestamps([0, np.inf], "x")
    with pytest.raises(ValueError, match="outside the video"): clock_observations([0, 1], [-1], [3.0], "zed")
    with pytest.raises(ValueError, match="at least 2 frames"): match_frames([0.0], [1.0], TimeBase(), "zed")

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

def test_capture_list_from_folders_and_a_video(tmp_path):
    "capture_list: numbered folders and a video (frames exported), flagged captures skipped or kept, missing frames refused."
    import csv, cv2
    from deblur_nbdev.sync import capture_list
    m = [dict(photo=p, t_photo=10.0 + p, t_true=0, video=v, frame=f, t_frame=0, residual_ms=r, flagged=fl)
         for p, (fd, fz, fl) in {2: (5, 7, "False"), 4: (9, 11, "True")}.items()
         for v, f, r in (("dslr", fd, 3.0), ("zed", fz, -2.0))]
    for n in ("ph", "zd", "dp"): (tmp_path / n).mkdir()
    for p in (2, 4): cv2.imwrite(str(tmp_path / "ph" / f"IMG_{p:04d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    for k in (7, 11):
        cv2.imwrite(str(tmp_path / "zd" / f"left{k}.png"), np.zeros((8, 8, 3), np.uint8))
        np.save(tmp_path / "dp" / f"d_{k:05d}.npy", np.ones((8, 8), np.float32))
    vw = cv2.VideoWriter(str(tmp_path / "dslr.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (16, 16))
    for k in range(12): vw.write(np.full((16, 16, 3), 20 * k, np.uint8))
    vw.release()
    src = dict(phone=tmp_path / "ph", dslr=tmp_path / "dslr.avi", zed=tmp_path / "zd", zed_depth=tmp_path / "dp")
    r = capture_list(m, src, tmp_path / "out" / "c.csv")
    assert r["written"] == [2] and r["skipped"] == [4]
    r = capture_list(m, src, tmp_path / "out" / "c.csv", flagged="keep", imu=tmp_path / "dp" / "d_00007.npy", exposure=0.02, imu_time_offset=0.5)
    rows = list(csv.DictReader(open(tmp_path / "out" / "c.csv")))
    assert [x["photo"] for x in rows] == ["2", "4"] and [x["flagged"] for x in rows] == ["0", "1"]
    assert rows[1]["zed_depth"].endswith("d_00011.npy") and rows[1]["t_start"] == "14.0" and rows[1]["imu_time_offset"] == "0.5"
    for x, k in zip(rows, (5, 9)):
        assert abs(cv2.imread(str(tmp_path / "out" / x["dslr"]))[..., 0].mean() - 20 * k) < 4
    with pytest.raises(FileNotFoundError, match="zed_depth: frame"): capture_list(m, dict(src, zed_depth=tmp_path / "ph"), tmp_path / "x.csv", flagged="keep")
    with pytest.raises(ValueError, match="outside the video"): capture_list([dict(x, frame=40) if x["video"] == "dslr" else x for x in m], src, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="exposure"): capture_list(m, src, tmp_path / "x.csv", imu=tmp_path / "ph")
