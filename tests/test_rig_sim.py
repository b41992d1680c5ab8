"Rig simulator: relative poses compose (property-based). The constructed cases are cells of nbs/07_rig_sim.ipynb."
import numpy as np
from hypothesis import given, settings, strategies as st
from deblur_nbdev.rig_sim import default_rig

@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["phone", "dslr", "zed"]), st.sampled_from(["phone", "dslr", "zed"]), st.sampled_from(["phone", "dslr", "zed"]))
def test_relative_poses_compose(a, b, c):
    rig = default_rig()
    Rab, Tab = rig.relative(a, b); Rbc, Tbc = rig.relative(b, c); Rac, Tac = rig.relative(a, c)
    np.testing.assert_allclose(Rbc @ Rab, Rac, atol=1e-12); np.testing.assert_allclose(Rbc @ Tab + Tbc, Tac, atol=1e-12)
