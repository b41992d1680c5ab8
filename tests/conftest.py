"Shared pytest set-up: Hypothesis is derandomised under `make test` so CI and local runs see the same examples."
import os
from hypothesis import settings

# `make test` sets HYPOTHESIS_PROFILE=ci: a fixed example sequence (a red CI run reproduces locally).
# Run `HYPOTHESIS_PROFILE=explore pytest tests` to search new random examples while developing.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
