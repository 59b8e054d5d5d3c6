"""Hypothesis settings shared by the property tests.

The property tests check statistical statements (a suggestion moves little under noise
of the curve's own size), so CI runs them on a fixed, derandomized set of examples: a
red run then means the code changed, not the dice. To explore new examples, run
``HYPOTHESIS_PROFILE=explore python -m pytest tests/test_analysis_stability.py``.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
