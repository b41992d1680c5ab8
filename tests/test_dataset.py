"Dataset format, generation, crash/resume, parallel backends and the tf.data loader (`06_dataset`)."
import json, os, random, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.dataset import (Sample, shard_bytes, write_shard, read_shard, write_manifest, read_manifest, write_dataset,
                                  verify_dataset, iter_samples)

BIN = Path(sys.executable).parent

def make_sample(index=0, h=6, w=8, P=3, split="train", scene="s", seed=0, **kw):
    g = np.random.default_rng(seed)
    return Sample(g.random((h, w, 3), np.float32), g.random((h, w, 3), np.float32), g.uniform(0.5, 5, (h, w)),
                  g.normal(0, 3, (h, w, 2)), np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.]]),
                  np.repeat(np.eye(3)[None], P, 0), g.normal(0, 1e-3, (P, 3)), np.linspace(0, 0.05, P),
                  index=index, scene=scene, split=split, params=dict(seed=seed), **kw)

# ---------------------------------------------------------------- format
@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), P=st.integers(1, 5), k=st.integers(0, 3), seed=st.integers(0, 2**31),
       mask=st.booleans(), f32=st.booleans())
def test_shard_roundtrip_is_exact_and_deterministic(tmp_path_factory, h, w, P, k, seed, mask, f32):
    g = np.random.default_rng(seed)
    extra = dict(kernel_segments=g.normal(0, 2, (h, w, k, 2)) if k else None, mask=g.random((h, w)) > 0.5 if mask else None)
    ss = [make_sample(i, h, w, P, seed=seed + i, **extra) for i in (7, 3)]
    d = tmp_path_factory.mktemp("rt")
    dt = "float32" if f32 else "uint8"
    rec = write_shard(d / "train-00000.npz", ss, image_dtype=dt)
    assert rec["indices"] == [3, 7] and rec["count"] == 2 and rec["bytes"] == (d / "train-00000.npz").stat().st_size
    assert shard_bytes(ss[::-1], dt) == (d / "train-00000.npz").read_bytes()          # order-free, timestamp-free
    back = read_shard(d / "train-00000.npz", sha256=rec["sha256"])
    for a, b in zip(back, sorted(ss, key=lambda s: s.index)):
        tol = 0 if f32 else 0.5 / 255 + 1e-7
        assert np.abs(a.blurry - b.blurry).max() <= tol and np.abs(a.sharp - b.sharp).max() <= tol
        for key in ("depth", "kernel", "K", "R", "T", "times"): np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert (a.index, a.scene, a.split, a.params) == (b.index, b.scene, b.split, b.params)
        if k: np.testing.assert_array_equal(a.kernel_segments, b.kernel_segments)
        else: assert a.kernel_segments is None
        if mask: np.testing.assert_array_equal(a.mask, b.mask)
        else: assert a.mask is None

def test_shard_rejects_mixed_splits_and_duplicates(tmp_path):
    with pytest.raises(ValueError, match="one split"): shard_bytes([make_sample(0), make_sample(1, split="test")])
    with pytest.raises(ValueError, match="duplicate"): shard_bytes([make_sample(0), make_sample(0)])
    with pytest.raises(ValueError, match="at least one"): shard_bytes([])
    with pytest.raises(ValueError, match="image_dtype"): shard_bytes([make_sample(0)], "float16")

def test_read_shard_names_a_corrupt_or_missing_file(tmp_path):
    rec = write_shard(tmp_path / "test-00003.npz", [make_sample(0, split="test")])
    with pytest.raises(FileNotFoundError, match="nope.npz"): read_shard(tmp_path / "nope.npz")
    data = (tmp_path / "test-00003.npz").read_bytes()
    (tmp_path / "test-00003.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="test-00003.npz"): read_shard(tmp_path / "test-00003.npz", sha256=rec["sha256"])
    with pytest.raises(ValueError, match="test-00003.npz"): read_shard(tmp_path / "test-00003.npz")

def test_write_dataset_manifest_and_verify(tmp_path):
    ss = [make_sample(i, split="test" if i % 3 == 0 else "train", scene=f"room{i % 3 == 0}", seed=i) for i in range(7)]
    m = write_dataset(tmp_path, ss, params=dict(a=1), shard_size=2, generator="pytest")
    assert m == read_manifest(tmp_path) and m["format_version"] == 1 and m["complete"]
    assert [r["file"] for r in m["shards"]] == ["test-00000.npz", "test-00001.npz", "train-00000.npz", "train-00001.npz"]
    assert verify_dataset(tmp_path, read=True) == {"train": 4, "test": 3}
    assert m["splits"]["test"] == {"count": 3, "scenes": ["roomTrue"]}
    assert [s.index for s in iter_samples(tmp_path, "train")] == [1, 2, 4, 5]
    p = tmp_path / "train-00001.npz"; data = bytearray(p.read_bytes()); data[100] ^= 0xFF; p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="train-00001.npz"): verify_dataset(tmp_path)
    p.unlink()
    with pytest.raises(ValueError, match="train-00001.npz.*missing"): verify_dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="manifest"): read_manifest(tmp_path / "nothing")
    assert not list(tmp_path.glob(".*.tmp"))

def test_sample_checks_inputs():
    s = make_sample()
    with pytest.raises(ValueError, match="mask"): make_sample(mask=np.full((6, 8), 3))
    with pytest.raises(ValueError, match="index"): make_sample(index=-1)
    with pytest.raises(ValueError, match="kernel_segments"): make_sample(kernel_segments=np.zeros((6, 8, 2)))
    with pytest.raises(ValueError, match="blurry"): Sample(s.blurry * 2, s.sharp, s.depth, s.kernel, s.K, s.R, s.T, s.times)
    assert s.poses.R.shape == (3, 3, 3)
