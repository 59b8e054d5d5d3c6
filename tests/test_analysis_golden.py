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
    suggest,
)

CURVES = json.loads((Path(__file__).parent / "data" / "curves.json").read_text())["curves"]

REL = 1e-6


def stages(curve: dict) -> dict:
    lrs, losses = np.array(curve["lrs"]), np.array(curve["losses"])
    sm = smooth(lrs, losses)
    noise = estimate_noise(sm)
    status, _ = classify(sm, noise)
    marks = find_landmarks(sm, noise)
    region = good_region(sm)
    s = suggest(
        (lrs, losses),
        slow_learner=curve["slow_learner"],
        cold_start_gain=curve["cold_start_gain"],
    )
    return {
        "points": len(sm.curve),
        "window_points": sm.window_points,
        "sigma": noise.sigma,
        "tolerance": noise.tolerance,
        "status": status,
        "fall_start": marks.fall_start,
        "steepest": marks.steepest,
        "minimum": marks.minimum,
        "divergence": marks.divergence,
        "quartile": region.quantile(0.25),
        "lr": s.lr,
        "band": list(s.band),
        "ambiguous": s.ambiguous,
    }


GOLDEN: dict[str, dict] = {
    "digits/sgd": {
        "points": 189,
        "window_points": 13,
        "sigma": 0.052324605601327595,
        "tolerance": 0.21878016680441165,
        "status": "ok",
        "fall_start": 0.0184642,
        "steepest": 0.186791,
        "minimum": 0.682607,
        "divergence": 2.07292,
        "quartile": 0.392443063202332,
        "lr": 0.392443063202332,
        "band": [0.12410139316527818, 1.241013931652782],
        "ambiguous": False,
    },
    "double-arc/sgd": {
        "points": 146,
        "window_points": 13,
        "sigma": 0.19517982119145855,
        "tolerance": 0.8160878299298469,
        "status": "ok",
        "fall_start": 7.14943e-05,
        "steepest": 0.000113573,
        "minimum": 0.020255,
        "divergence": 0.0424757,
        "quartile": 0.00883414205427329,
        "lr": 0.00883414205427329,
        "band": [0.0024466541117071586, 0.027936010064982423],
        "ambiguous": False,
    },
    "mnist/adam": {
        "points": 163,
        "window_points": 13,
        "sigma": 0.06560158418951534,
        "tolerance": 0.27429400311144764,
        "status": "ok",
        "fall_start": 6.51734e-05,
        "steepest": 0.00151672,
        "minimum": 0.0222195,
        "divergence": 0.204907,
        "quartile": 0.005777302258770902,
        "lr": 0.005777302258770902,
        "band": [0.001826943386895154, 0.01826943386895154],
        "ambiguous": False,
    },
    "mnist/momentum": {
        "points": 182,
        "window_points": 13,
        "sigma": 0.04941812729569417,
        "tolerance": 0.2066275705026872,
        "status": "ok",
        "fall_start": 0.00054789,
        "steepest": 0.0139871,
        "minimum": 0.107189,
        "divergence": 1.18953,
        "quartile": 0.05534945596480559,
        "lr": 0.05534945596480559,
        "band": [0.017503034809997816, 0.17503034809997817],
        "ambiguous": False,
    },
    "sine/rmsprop": {
        "points": 125,
        "window_points": 13,
        "sigma": 0.04754398535756609,
        "tolerance": 0.1987913893957932,
        "status": "ok",
        "fall_start": 1.9564e-05,
        "steepest": 0.000149927,
        "minimum": 0.00505263,
        "divergence": 0.00731681,
        "quartile": 0.0005458963284344097,
        "lr": 0.0005458963284344097,
        "band": [0.0001726275764176074, 0.0017262757641760744],
        "ambiguous": False,
    },
    "spiral/adagrad": {
        "points": 1000,
        "window_points": 63,
        "sigma": 0.060037211536613476,
        "tolerance": 0.11348350867499893,
        "status": "ok",
        "fall_start": 0.513701,
        "steepest": 0.893205,
        "minimum": 2.60265,
        "divergence": None,
        "quartile": 0.5731093065046724,
        "lr": 0.38621275698433183,
        "band": [0.00978418190866097, 1.2213119734835918],
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
    assert reading.region.quantile(0.25) == pytest.approx(GOLDEN["digits/sgd"]["quartile"])
