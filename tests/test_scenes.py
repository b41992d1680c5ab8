"Scenes and readers (nbs/05_scenes): exact depth, reproducibility, ray length → z, file readers on files written here."
import json
import numpy as np, cv2, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from deblur_nbdev.blur_model import default_K, unproject, pixel_grid
from deblur_nbdev.scenes import (procedural_scene, render_quads, ray_to_z, read_image, read_depth, read_rgbd_folder,
                                 write_rgbd_folder, read_scenenet, load_scene, SCENENET_K, _texture)

SET = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

@SET
@given(st.integers(0, 10**6))
def test_procedural_scene_is_seeded_and_fully_covered(seed):
    a, b = procedural_scene(seed, 40, 56), procedural_scene(seed, 40, 56)
    assert a.image.tobytes() == b.image.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    assert (a.depth > 0).all() and np.isfinite(a.depth).all()

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
    cv2.imwrite(str(tmp_path / "d8.png"), np.ones((4, 4), np.uint8))
    with pytest.raises(ValueError, match="8-bit"): read_depth(tmp_path / "d8.png")
    with pytest.raises(FileNotFoundError, match="nope.png"): read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"): read_image(tmp_path / "bad.png")
    np.save(tmp_path / "f" / "depth" / "procedural_1.npy", np.ones((5, 5)))
    with pytest.raises(ValueError, match="does not match"): read_rgbd_folder(tmp_path / "f")
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
