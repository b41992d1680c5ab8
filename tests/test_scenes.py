"Scenes and readers (nbs/05_scenes): exact depth, reproducibility, ray length → z, file readers on files written here."
import json
import numpy as np, cv2, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from deblur_nbdev.blur_model import default_K, intrinsics, unproject, pixel_grid, project
from deblur_nbdev.scenes import (Scene, procedural_scene, procedural_quads, render_quads, ray_to_z, read_image, read_depth,
                                 read_rgbd_folder, write_rgbd_folder, read_scenenet, load_scene, resize_scene, fit_scene,
                                 motorcycle, SCENENET_K, BUILTIN_SCENES, _texture)

SET = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

@SET
@given(st.integers(0, 10**6))
def test_procedural_scene_is_seeded_and_fully_covered(seed):
    a, b = procedural_scene(seed, 40, 56), procedural_scene(seed, 40, 56)
    assert a.image.tobytes() == b.image.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    assert (a.depth > 0).all() and np.isfinite(a.depth).all()

@SET
@given(st.integers(0, 10**6), st.floats(0.35, 2.0), st.floats(0.3, 0.7), st.floats(0.3, 0.7), st.integers(0, 4))
def test_procedural_depth_lies_on_the_seen_quad_and_covers_any_K(seed, f_rel, cx_rel, cy_rel, n_boxes):
    h, w = 36, 48
    K = intrinsics(f_rel * w, f_rel * w, cx_rel * w, cy_rel * h)     # down to ~110° field of view, off-centre
    quads = procedural_quads(seed, h, w, n_boxes, K)
    _, d, ids = render_quads(quads, K, h, w, return_ids=True)
    assert (d > 0).all() and (ids >= 0).all()                          # no holes
    X = unproject(d, K)
    for i, (O, a, b, _) in enumerate(quads):
        n = np.cross(a, b); n /= np.linalg.norm(n); m = ids == i
        if m.any(): assert np.abs((X[m] - O) @ n).max() < 1e-6     # exact up to float32 storage
    np.testing.assert_array_equal(procedural_scene(seed, h, w, n_boxes, K).depth, d)

@SET
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(1, 6), st.floats(-0.5, 0.5))
def test_depth_is_exact_on_a_quad(x0, y0, z0, tilt):
    O, a, b = np.array([x0 - 2, y0 - 2, z0]), np.array([4.0, 0, tilt]), np.array([0, 4.0, -tilt])
    K = default_K(32, 24)
    _, d = render_quads([(O, a, b, _texture("coffee"))], K, 24, 32)
    X = unproject(d, K)[d > 0]
    n = np.cross(a, b); n /= np.linalg.norm(n)
    np.testing.assert_allclose((X - O) @ n, 0, atol=1e-5 * z0)

@SET
@given(st.floats(0.3, 20))
def test_ray_to_z_never_exceeds_ray_and_equals_it_on_axis(r):
    z = ray_to_z(np.full((240, 320), r), SCENENET_K)
    assert (z <= r * (1 + 1e-6)).all()
    np.testing.assert_allclose(z[120, 160], r, rtol=1e-6)

def test_readers_round_trip_and_refuse_bad_files(tmp_path):
    scenes = [procedural_scene(1, 24, 32), procedural_scene(2, 24, 32)]
    write_rgbd_folder(scenes, tmp_path / "f", depth_format="npy")
    back = read_rgbd_folder(tmp_path / "f")
    np.testing.assert_array_equal(back[1].depth, scenes[1].depth)
    write_rgbd_folder(scenes, tmp_path / "p")                                  # 16-bit millimetre PNG
    np.testing.assert_allclose(read_rgbd_folder(tmp_path / "p")[0].depth, scenes[0].depth, atol=5e-4)
    cv2.imwrite(str(tmp_path / "c16.png"), np.full((3, 5, 3), 65535 // 5, np.uint16))   # 16-bit colour is fine
    np.testing.assert_allclose(read_image(tmp_path / "c16.png"), 0.2, atol=1e-6)
    cv2.imwrite(str(tmp_path / "d8.png"), np.ones((4, 4), np.uint8))
    with pytest.raises(ValueError, match="8-bit"): read_depth(tmp_path / "d8.png")
    with pytest.raises(FileNotFoundError, match="nope.png"): read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"): read_image(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError, match="depth: file not found"): read_depth(tmp_path / "none.npy")
    np.save(tmp_path / "f" / "depth" / "other.npy", np.ones((24, 32)))
    with pytest.raises(ValueError, match="other.npy"): read_rgbd_folder(tmp_path / "f")   # name without an image
    (tmp_path / "f" / "depth" / "other.npy").unlink()
    (tmp_path / "f" / "rgb" / "lonely.png").write_bytes((tmp_path / "f" / "rgb" / "procedural_1.png").read_bytes())
    with pytest.raises(FileNotFoundError, match="lonely"): read_rgbd_folder(tmp_path / "f")  # image without depth
    (tmp_path / "f" / "rgb" / "lonely.png").unlink()
    np.save(tmp_path / "f" / "depth" / "procedural_1.npy", np.ones((5, 5)))
    with pytest.raises(ValueError, match="procedural_1.npy: depth .* does not match"): read_rgbd_folder(tmp_path / "f")
    (tmp_path / "f" / "camera.json").write_text('{"fx": 1}')
    with pytest.raises(ValueError, match="missing key"): read_rgbd_folder(tmp_path / "f")
    (tmp_path / "f" / "camera.json").unlink()
    with pytest.raises(FileNotFoundError, match="camera.json"): read_rgbd_folder(tmp_path / "f")

def test_scenenet_layout(tmp_path):
    (tmp_path / "photo").mkdir(); (tmp_path / "depth").mkdir()
    cv2.imwrite(str(tmp_path / "photo" / "25.jpg"), np.full((240, 320, 3), 128, np.uint8))
    u, v = pixel_grid(240, 320)
    ray = 3.0 * np.linalg.norm(np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(SCENENET_K).T, axis=-1)
    cv2.imwrite(str(tmp_path / "depth" / "25.png"), np.round(ray * 1000).astype(np.uint16))
    sc = read_scenenet(tmp_path)[0]
    np.testing.assert_allclose(sc.depth, 3.0, atol=1e-3)
    with pytest.raises(FileNotFoundError, match="photo"): read_scenenet(tmp_path / "depth")

def test_unknown_scene_name():
    with pytest.raises(ValueError, match="unknown scene 'x'"): load_scene("x")

def test_builtin_scenes_have_the_requested_size():
    for n in BUILTIN_SCENES:
        assert load_scene(n, 60, 80).image.shape == (60, 80, 3)

@SET
@given(st.floats(0.1, 1.5))
def test_resize_keeps_geometry_and_holes(scale):
    sc = Scene(np.full((30, 40, 3), 0.5), np.where(np.arange(40) < 20, 2.0, 0.0)[None].repeat(30, 0), default_K(40, 30))
    r = resize_scene(sc, scale)
    assert set(np.unique(r.depth)) <= {0.0, 2.0}                               # nearest: no mixed depths
    X = np.array([0.3, -0.2, 2.0])                                            # one 3D point seen by both
    p0, _ = project(X, sc.K); p1, _ = project(X, r.K)
    h, w = r.depth.shape
    np.testing.assert_allclose(p1, (p0 + 0.5) * [w / 40, h / 30] - 0.5, atol=1e-9)

def test_motorcycle_depth_range_and_holes():
    m = motorcycle()
    v = m.depth > 0
    assert 0.06 < 1 - v.mean() < 0.09 and 2.0 < m.depth[v].min() < 2.3 and 4.8 < m.depth[v].max() < 5.1
    f = fit_scene(m, 120, 160)
    assert f.image.shape == (120, 160, 3) and 0.04 < 1 - (f.depth > 0).mean() < 0.11


def test_depth_scale_applies_to_npy(tmp_path):
    np.save(tmp_path / "mm.npy", np.array([[1500, 0], [2500, 65535]], np.uint16))     # millimetres in a .npy
    np.testing.assert_allclose(read_depth(tmp_path / "mm.npy", scale=0.001), [[1.5, 0], [2.5, 65.535]], rtol=1e-6)
    np.testing.assert_array_equal(read_depth(tmp_path / "mm.npy"), [[1500, 0], [2500, 65535]])   # default: metres
    np.save(tmp_path / "m.npy", np.array([[1.25, np.nan]], np.float32))
    np.testing.assert_array_equal(read_depth(tmp_path / "m.npy"), [[1.25, 0]])
    np.testing.assert_allclose(read_depth(tmp_path / "m.npy", scale=2.0), [[2.5, 0]])
    cv2.imwrite(str(tmp_path / "mm.png"), np.array([[1500, 0]], np.uint16))
    np.testing.assert_allclose(read_depth(tmp_path / "mm.png"), [[1.5, 0]], rtol=1e-6)     # default for PNG: mm
    np.testing.assert_allclose(read_depth(tmp_path / "mm.png", scale=1e-4), [[0.15, 0]], rtol=1e-6)
    for bad in (0, -1, np.nan):
        with pytest.raises(ValueError, match="scale must be a positive number"):
            read_depth(tmp_path / "m.npy", scale=bad)


def test_write_rgbd_folder_records_the_depth_scale_of_its_format(tmp_path):
    scenes = [procedural_scene(3, 24, 32)]
    write_rgbd_folder(scenes, tmp_path / "n", depth_format="npy")
    write_rgbd_folder(scenes, tmp_path / "p")
    assert json.loads((tmp_path / "n" / "camera.json").read_text())["depth_scale"] == 1.0
    assert json.loads((tmp_path / "p" / "camera.json").read_text())["depth_scale"] == 0.001
    c = json.loads((tmp_path / "n" / "camera.json").read_text())
    (tmp_path / "n" / "camera.json").write_text(json.dumps({**c, "depth_scale": 0.5}))   # the folder's scale is used
    np.testing.assert_allclose(read_rgbd_folder(tmp_path / "n")[0].depth, 0.5 * scenes[0].depth, rtol=1e-6)
