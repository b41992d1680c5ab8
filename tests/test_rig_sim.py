"Rig simulator: geometry, reproducibility, IMU and checkerboard ground truth."
import json
import numpy as np, pytest, cv2
from hypothesis import given, settings, strategies as st
from scipy.spatial.transform import Rotation
from deblur_nbdev.rig_sim import (Camera, Rig, default_rig, world_scene, world_camera, render_view, pixel_shift,
                                  simulate_capture, board_points, board_corners, render_checkerboard, checkerboard_views,
                                  TimeBase, render_clock, clock_frames, simulate_session)
from deblur_nbdev.camera_motion import imu_poses

@pytest.fixture(scope="module")
def small():
    rig = default_rig(0.3)
    return rig, world_scene(rig, seed=2, oversample=1.5)

@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["phone", "dslr", "zed"]), st.sampled_from(["phone", "dslr", "zed"]), st.sampled_from(["phone", "dslr", "zed"]))
def test_relative_poses_compose(a, b, c):
    rig = default_rig()
    Rab, Tab = rig.relative(a, b); Rbc, Tbc = rig.relative(b, c); Rac, Tac = rig.relative(a, c)
    np.testing.assert_allclose(Rbc @ Rab, Rac, atol=1e-12); np.testing.assert_allclose(Rbc @ Tab + Tbc, Tac, atol=1e-12)

def test_rig_json_round_trip_and_scaling():
    rig = default_rig(dist=True)
    r2 = Rig.from_dict(json.loads(json.dumps(rig.to_dict())))
    for n in rig.cameras:
        np.testing.assert_allclose(r2[n].K, rig[n].K); np.testing.assert_allclose(r2[n].dist, rig[n].dist)
        np.testing.assert_allclose(r2.poses[n][1], rig.poses[n][1])
    s = rig.scaled(0.5)
    assert s["phone"].size == (240, 320) and s["dslr"].size == (270, 480) and s["zed"].size == (180, 320)
    # the same 3D point projects to the scaled pixel position (pixel-centre convention)
    X = np.array([0.3, -0.2, 2.0]); p = rig["dslr"].K @ X; q = s["dslr"].K @ X
    np.testing.assert_allclose((q[:2] / q[2] + 0.5), (p[:2] / p[2] + 0.5) * 0.5, atol=1e-9)
    with pytest.raises(ValueError, match="dist"): Camera("c", np.eye(3), (10, 10), dist=[0, 0])

def test_world_camera_covers_every_camera(small):
    rig, world = small
    for n in rig.cameras:
        v = render_view(world, rig[n], *rig.poses[n])
        assert (~v.valid).mean() < 0.03, n
        assert (v.depth[v.valid] > 0).all() and (v.depth[~v.valid] == 0).all()

def test_capture_is_reproducible_and_shift_zero_is_exact(small):
    rig, world = small
    a = simulate_capture(rig, world, seed=4, exposure=0.03, shift=0.0)
    b = simulate_capture(rig, world, seed=4, exposure=0.03, shift=0.0)
    assert a.blurry.tobytes() == b.blurry.tobytes() and a.imu.gyro.tobytes() == b.imu.gyro.tobytes()
    np.testing.assert_allclose(a.R, rig.poses["phone"][0], atol=1e-12)
    v = render_view(world, rig["phone"], *rig.poses["phone"])
    assert np.array_equal(v.image, a.sharp.image) and np.array_equal(v.depth, a.sharp.depth)
    np.testing.assert_allclose(a.zed.depth, render_view(world, rig["zed"], np.eye(3), np.zeros(3)).depth)

def test_shift_moves_the_phone_and_imu_gives_rotation(small):
    rig, world = small
    c = simulate_capture(rig, world, seed=1, exposure=0.04, shift=-0.05, reference="mid")
    K = rig["phone"].K; h, w = rig["phone"].size
    xy = pixel_shift(c.sharp.depth, K, c.R, c.T, K, *c.naive_pose())
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    assert np.nanmean(np.hypot(xy[..., 0] - u, xy[..., 1] - v)[c.sharp.valid]) > 0.3
    est = imu_poses(c.imu, c.t_start, c.exposure)
    np.testing.assert_allclose(est.at(c.poses.times).R, c.poses.R, atol=3e-4)
    assert np.abs(np.diff(c.imu.accel, axis=0)).max() < 3.0         # smooth at 400 Hz: no interpolation kinks (were ~14)
    still = simulate_capture(rig, world, seed=1, rot_scale=0, trans_scale=0)
    np.testing.assert_allclose(still.imu.gyro, 0, atol=1e-9); assert np.abs(still.imu.accel - [0, -9.81, 0]).max() < 1e-9

def test_bad_capture_arguments(small):
    rig, world = small
    with pytest.raises(ValueError, match="shift"): simulate_capture(rig, world, shift=np.nan)
    with pytest.raises(KeyError, match="not on the rig"):
        simulate_capture(Rig({"phone": rig["phone"]}, {"phone": rig.poses["phone"]}), world)

def test_rendered_board_matches_project_points_with_noise():
    rig = default_rig(0.5, dist=True)
    bv = checkerboard_views(rig, n=3, seed=7, cameras=("zed",), noise=0.01)
    for img, t in zip(bv.images["zed"], bv.corners["zed"]):
        g = (img[..., 0] * 255).astype(np.uint8)
        ok, c = cv2.findChessboardCornersSB(g, (9, 6), flags=cv2.CALIB_CB_ACCURACY)
        assert ok
        c = c.reshape(-1, 2)
        if np.linalg.norm(c[0] - t[0]) > np.linalg.norm(c[0] - t[-1]): c = c[::-1]
        assert np.linalg.norm(c - t, axis=1).mean() < 0.2

def test_board_pose_consistent_across_pair():
    rig = default_rig(0.5)
    bv = checkerboard_views(rig, n=2, seed=3, cameras=("phone", "zed"))
    for (Rw, Tw), q in zip(bv.poses, bv.corners["zed"]):
        np.testing.assert_allclose(board_corners(rig["zed"], Rw, Tw), q, atol=1e-9)   # the ZED is the world camera

def test_clock_and_session_truth():
    assert np.abs(render_clock(1.25) - render_clock(1.75)).max() > 0.5
    tb = TimeBase(-3.0, 1e-4)
    cf = clock_frames(30, tb, 10.0, n=6)
    np.testing.assert_allclose(tb.to_true(cf.t_cam), cf.t_true, atol=1e-12)
    np.testing.assert_allclose(np.diff(cf.t_cam), 1 / 30, atol=1e-12)
    s = simulate_session(default_rig(0.25), duration=20, n_captures=4, seed=5, drop=2)
    assert len(s.captures) == 4 and (np.diff(s.t_captures) > 0).all()
    np.testing.assert_allclose(s.timebases["dslr"].to_true(s.reference["dslr"].t_cam), s.reference["dslr"].t_true, atol=1e-9)
    with pytest.raises(ValueError, match="n"): clock_frames(30, tb, 0.0, n=0)
