"U-Net: input stacking identical to the training loader, save/load round trip, padding and cropping at any size."
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.dataset import Sample, VARIANTS, ALL_VARIANTS, PATH_VARIANTS, write_dataset, iter_samples
from deblur_nbdev.loader import make_tf_dataset
from deblur_nbdev.unet import build_unet, model_info, load_model, make_input, predict_image


def make_sample(index, h, w, g):
    depth = g.uniform(0.1, 6, (h, w)); depth[g.random((h, w)) < 0.2] = 0          # holes and near pixels
    return Sample(g.random((h, w, 3), np.float32), g.random((h, w, 3), np.float32), depth, g.normal(0, 5, (h, w, 2)),
                  np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.]]), np.eye(3)[None], np.zeros((1, 3)), [0.0],
                  index=index, scene=f"s{index}", path=g.normal(0, 5, (h, w, 5, 2)))


@pytest.fixture(scope="module")
def zero_nets():
    nets = {}
    for d in (1, 2, 3):
        m = build_unet("depth", depth=d, width=2); m.set_weights([np.zeros_like(w) for w in m.get_weights()]); nets[d] = m
    return nets


@pytest.mark.parametrize("image_dtype", ["uint8", "float32"])
@pytest.mark.parametrize("variant", list(ALL_VARIANTS))
def test_make_input_equals_make_tf_dataset(tmp_path, variant, image_dtype):
    g = np.random.default_rng(len(variant))
    write_dataset(tmp_path, [make_sample(i, 7, 10, g) for i in range(4)], shard_size=3, image_dtype=image_dtype)
    xb, _ = next(iter(make_tf_dataset(tmp_path, variant, batch=4, shuffle=False, flip=False, depth_near=0.7, kernel_scale=0.25)))
    for j, s in enumerate(iter_samples(tmp_path, "train", as_float=False)):
        x = make_input(variant, s.blurry, s.depth, s.kernel, depth_near=0.7, kernel_scale=0.25, path=s.path)
        assert x.dtype == np.float32 and x.shape == (7, 10, len(ALL_VARIANTS[variant]))
        np.testing.assert_array_equal(x, xb.numpy()[j])


def test_make_input_uses_the_models_normalisation():
    g = np.random.default_rng(0); s = make_sample(0, 5, 6, g)
    m = build_unet("depth+kernel", depth=1, width=2, depth_near=1.0, kernel_scale=0.5)
    x = make_input(m, s.blurry, s.depth, s.kernel)
    np.testing.assert_array_equal(x[..., 5:], s.kernel[..., 1:] * np.float32(0.5))
    assert x[..., 3].max() <= 1 and x[..., 3][s.depth == 0].max() == 0
    with pytest.raises(ValueError, match="depth.*'depth\\+kernel'"): make_input(m, s.blurry, kernel=s.kernel)


def test_path_variants_build_and_stack():
    assert list(VARIANTS) == ["blind", "depth", "kernel", "depth+kernel"]            # the thesis' four, unchanged
    assert PATH_VARIANTS["path"][3:] == ("p0x", "p0y", "p1x", "p1y", "p2x", "p2y", "p3x", "p3y", "p4x", "p4y")
    for v, c in (("path", 13), ("depth+path", 14)):
        m = build_unet(v, depth=2, width=4)
        assert m.input_shape == (None, None, None, c) and model_info(m)["channels"] == c
        assert model_info(m)["variant"] == v
        assert predict_image(m, np.zeros((9, 11, c), np.float32)).shape == (9, 11, 3)
    s = make_sample(0, 5, 6, np.random.default_rng(3))
    m = build_unet("depth+path", depth=1, width=2, kernel_scale=0.5)
    x = make_input(m, s.blurry, s.depth, path=s.path)                                 # the model's kernel_scale
    np.testing.assert_array_equal(x[..., 4:].reshape(5, 6, 5, 2), s.path * np.float32(0.5))
    np.testing.assert_array_equal(x[..., 4:6], s.path[:, :, 0] * np.float32(0.5))      # p0x, p0y first
    with pytest.raises(ValueError, match="path: variant 'path' needs a kernel path"): make_input("path", s.blurry)
    with pytest.raises(ValueError, match="path: need shape \\(5, 6, 5, 2\\).*4 segments.*got \\(5, 6, 9, 2\\)"):
        make_input("path", s.blurry, path=np.zeros((5, 6, 9, 2)))
    with pytest.raises(ValueError, match="path: need shape"):
        make_input("path", s.blurry, path=s.path.reshape(5, 6, 10))
    with pytest.raises(ValueError, match="path: contains NaN"):
        make_input("path", s.blurry, path=np.full((5, 6, 5, 2), np.nan))
    with pytest.raises(ValueError, match="depth"): make_input("depth+path", s.blurry, path=s.path)
    with pytest.raises(ValueError, match="x: model variant 'path' needs 13 channels, got 5"):
        predict_image(build_unet("path", depth=1, width=2), np.zeros((4, 4, 5), np.float32))


def test_save_load_roundtrip(tmp_path):
    p = build_unet("depth+path", depth=1, width=2)
    p.save(tmp_path / "p.keras")
    assert model_info(load_model(tmp_path / "p.keras")) == model_info(p)
    (tmp_path / "p.keras").unlink()
    m = build_unet("kernel", depth=2, width=4, depth_near=0.3, kernel_scale=0.2)
    m.save(tmp_path / "m.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]                     # no side files
    m2 = load_model(tmp_path / "m.keras")
    assert model_info(m2) == model_info(m)
    assert model_info(m2)["variant"] == "kernel" and model_info(m2)["depth_near"] == 0.3 and model_info(m2)["multiple"] == 4
    x = np.random.default_rng(0).random((1, 8, 8, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(m2(x)), np.asarray(m(x)), atol=1e-6)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.keras"): load_model(tmp_path / "missing.keras")
    (tmp_path / "x.h5").write_bytes(b"\x89HDF")
    with pytest.raises(ValueError, match="x.h5"): load_model(tmp_path / "x.h5")
    (tmp_path / "trunc.keras").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="trunc.keras"): load_model(tmp_path / "trunc.keras")


@settings(max_examples=20, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), d=st.integers(1, 3), n=st.integers(1, 3), batch=st.integers(1, 3))
def test_predict_pads_and_crops_any_size(zero_nets, h, w, d, n, batch):
    x = np.random.default_rng(h * 41 + w).uniform(0, 1, (n, h, w, 4)).astype(np.float32)
    y = predict_image(zero_nets[d], x, batch=batch)
    assert y.shape == (n, h, w, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, x[..., :3])                                       # zero net = identity


def test_predict_channel_check(zero_nets):
    with pytest.raises(ValueError, match="model variant 'depth' needs 4 channels, got 6"):
        predict_image(zero_nets[1], np.zeros((4, 4, 6), np.float32))
    with pytest.raises(ValueError, match="NaN"): predict_image(zero_nets[1], np.full((4, 4, 4), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"): predict_image(zero_nets[1], np.full((4, 4, 4), 1.5, np.float32))
    with pytest.raises(TypeError, match="uint8"): predict_image(zero_nets[1], np.zeros((4, 4, 4), np.uint8))
