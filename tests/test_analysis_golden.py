"""Golden values: each stage of the analyser on real range-test curves, pinned.

The curves in ``tests/data/curves.json`` were recorded by ``benchmarks/quality.py``.
Every number below is what each stage gives on them today. A change to any
constant of :class:`lrfinder.analysis.AnalysisConfig`, or to a stage, moves some
of them: the test then fails, and the change must be justified by the quality
benchmark (``python benchmarks/quality.py --datasets all``), after which these
values are updated on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lrfinder.analysis import (
    classify,
    estimate_noise,
    find_landmarks,
    good_region,
    read,
    smooth,
    split,
    suggest,
)

CURVES = json.loads((Path(__file__).parent / "data" / "curves.json").read_text())["curves"]

REL = 1e-6


def stages(curve: dict) -> dict:
    lrs, losses = np.array(curve["lrs"]), np.array(curve["losses"])
    pieces = split(lrs, losses)
    sm = smooth(*pieces.parts[pieces.main])
    noise = estimate_noise(sm)
    status, _ = classify(sm, noise)
    marks = find_landmarks(sm, noise)
    region = good_region(sm)
    s = suggest(
        (lrs, losses),
        slow_learner=curve["slow_learner"],
        cold_start_gain=curve["cold_start_gain"],
        momentum_lag=curve["momentum_lag"],
    )
    return {
        "pieces": len(pieces.parts),
        "points": len(sm.curve),
        "window_points": sm.window_points,
        "sigma": noise.sigma,
        "tolerance": noise.tolerance,
        "status": status,
        "fall_start": marks.fall_start,
        "steepest": marks.steepest,
        "minimum": marks.minimum,
        "divergence": marks.divergence,
        "median": region.quantile(0.5),
        "lr": s.lr,
        "band": list(s.band),
        "ambiguous": s.ambiguous,
    }


GOLDEN: dict[str, dict] = {
    "digits/sgd": {
        "pieces": 1,
        "points": 189,
        "window_points": 13,
        "sigma": 0.052451157487288416,
        "tolerance": 0.2193093068218427,
        "status": "ok",
        "fall_start": 0.018464249428955425,
        "steepest": 0.18679135990207846,
        "minimum": 0.6826071834272393,
        "divergence": 2.0729217795953696,
        "median": 0.588401917711233,
        "lr": 0.588401917711233,
        "band": [0.1860690239578465, 1.8606902395784652],
        "ambiguous": False,
    },
    "digits/sgd-linear": {
        "pieces": 2,
        "points": 51,
        "window_points": 31,
        "sigma": 0.4087694731218149,
        "tolerance": 1.2572989131074812,
        "status": "ok",
        "fall_start": 0.15075386733668344,
        "steepest": 0.5527639135678392,
        "minimum": 1.1055277271356785,
        "divergence": 2.2110553542713567,
        "median": 0.9967718304597648,
        "lr": 0.9967718304597648,
        "band": [0.31520692917480575, 2.2110553542713567],
        "ambiguous": False,
    },
    "double-arc/sgd": {
        "pieces": 1,
        "points": 146,
        "window_points": 13,
        "sigma": 0.19518245327832462,
        "tolerance": 0.8160988352379064,
        "status": "ok",
        "fall_start": 7.149428986597576e-05,
        "steepest": 0.00011357333583431051,
        "minimum": 0.020255019392306665,
        "divergence": 0.04247571552536903,
        "median": 0.012893859178847639,
        "lr": 0.012893859178847639,
        "band": [0.0025080797723745006, 0.040773962834626885],
        "ambiguous": False,
    },
    "mnist/adam": {
        "pieces": 1,
        "points": 163,
        "window_points": 13,
        "sigma": 0.06559642818331574,
        "tolerance": 0.2742724447665087,
        "status": "ok",
        "fall_start": 6.51733960488242e-05,
        "steepest": 0.001516716888470924,
        "minimum": 0.02221946860939524,
        "divergence": 0.2049074689815846,
        "median": 0.013281869132953322,
        "lr": 0.005773645988544269,
        "band": [0.001160930055389107, 0.04200095804441825],
        "ambiguous": False,
    },
    "mnist/momentum": {
        "pieces": 1,
        "points": 182,
        "window_points": 13,
        "sigma": 0.049185223317261606,
        "tolerance": 0.20565375004737238,
        "status": "ok",
        "fall_start": 0.0005478901179593945,
        "steepest": 0.013987131026472387,
        "minimum": 0.10718913192051285,
        "divergence": 1.1895340673703207,
        "median": 0.09068865211510661,
        "lr": 0.03942247640369915,
        "band": [0.010811788955592564, 0.2867826986143835],
        "ambiguous": False,
    },
    "sine/rmsprop": {
        "pieces": 1,
        "points": 125,
        "window_points": 13,
        "sigma": 0.04587346110977309,
        "tolerance": 0.19180657662209383,
        "status": "ok",
        "fall_start": 1.956398343517065e-05,
        "steepest": 0.00014992684327860457,
        "minimum": 0.00505263106533568,
        "divergence": 0.007316807143427192,
        "median": 0.000994869473672978,
        "lr": 0.0007316807143427196,
        "band": [0.0001384109927304236, 0.0023137775773420235],
        "ambiguous": False,
    },
    "spiral/adagrad": {
        "pieces": 1,
        "points": 1000,
        "window_points": 63,
        "sigma": 0.060037774675668086,
        "tolerance": 0.11348457313141858,
        "status": "ok",
        "fall_start": 0.5137013543351339,
        "steepest": 0.893204599858096,
        "minimum": 2.602647881969004,
        "divergence": None,
        "median": 1.8123006784202287,
        "lr": 0.6867882149674234,
        "band": [0.006737633440917841, 2.1718150294584015],
        "ambiguous": False,
    },
}


@pytest.mark.parametrize("name", sorted(CURVES))
def test_each_stage_gives_its_golden_value(name):
    got = stages(CURVES[name])
    want = GOLDEN[name]
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=REL), key
        elif isinstance(value, list):
            assert got[key] == pytest.approx(value, rel=REL), key
        else:
            assert got[key] == value, key


def test_the_reading_agrees_with_the_stages():
    curve = CURVES["digits/sgd"]
    reading = read(np.array(curve["lrs"]), np.array(curve["losses"]))
    assert reading.status == "ok" and reading.problem is None
    assert reading.landmarks.minimum == pytest.approx(GOLDEN["digits/sgd"]["minimum"])
    assert reading.region.quantile(0.5) == pytest.approx(GOLDEN["digits/sgd"]["median"])
