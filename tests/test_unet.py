"U-Net: padding and cropping at any size (property-based); the constructed cases are in nbs/13_unet.ipynb."
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from deblur_nbdev.unet import build_unet, predict_image


@pytest.fixture(scope="module")
def zero_nets():
    nets = {}
    for d in (1, 2, 3):
        m = build_unet("depth", depth=d, width=2); m.set_weights([np.zeros_like(w) for w in m.get_weights()]); nets[d] = m
    return nets


@settings(max_examples=20, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), d=st.integers(1, 3), n=st.integers(1, 3), batch=st.integers(1, 3))
def test_predict_pads_and_crops_any_size(zero_nets, h, w, d, n, batch):
    x = np.random.default_rng(h * 41 + w).uniform(0, 1, (n, h, w, 4)).astype(np.float32)
    y = predict_image(zero_nets[d], x, batch=batch)
    assert y.shape == (n, h, w, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, x[..., :3])                                       # zero net = identity
