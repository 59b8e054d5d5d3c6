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
        "quartile": region.quantile(0.25),
        "lr": s.lr,
        "band": list(s.band),
        "ambiguous": s.ambiguous,
    }


GOLDEN: dict[str, dict] = {
    "digits/sgd": {
        "pieces": 1,
        "points": 189,
        "window_points": 13,
        "sigma": 0.05245115748728984,
        "tolerance": 0.21930930682184793,
        "status": "ok",
        "fall_start": 0.018464249428955425,
        "steepest": 0.18679135990207846,
        "minimum": 0.6826071834272393,
        "divergence": 2.0729217795953696,
        "quartile": 0.39244345612789494,
        "lr": 0.39244345612789494,
        "band": [0.12410151741925116, 1.2410151741925117],
        "ambiguous": False,
    },
    "digits/sgd-linear": {
        "pieces": 2,
        "points": 51,
        "window_points": 31,
        "sigma": 0.4087694731221623,
        "tolerance": 1.2572989131085197,
        "status": "ok",
        "fall_start": 0.15075386733668344,
        "steepest": 0.5527639135678392,
        "minimum": 1.1055277271356785,
        "divergence": 2.2110553542713567,
        "quartile": 0.9319190751735987,
        "lr": 0.9319190751735987,
        "band": [0.29469868725062476, 2.2110553542713567],
        "ambiguous": False,
    },
    "double-arc/sgd": {
        "pieces": 1,
        "points": 146,
        "window_points": 13,
        "sigma": 0.1951824532783252,
        "tolerance": 0.8160988352379063,
        "status": "ok",
        "fall_start": 7.149428986597576e-05,
        "steepest": 0.00011357333583431051,
        "minimum": 0.020255019392306665,
        "divergence": 0.04247571552536903,
        "quartile": 0.0088341308734145,
        "lr": 0.0088341308734145,
        "band": [0.0024466450267097853, 0.027935974708002447],
        "ambiguous": False,
    },
    "mnist/adam": {
        "pieces": 1,
        "points": 163,
        "window_points": 13,
        "sigma": 0.0655964281833157,
        "tolerance": 0.27427244476650764,
        "status": "ok",
        "fall_start": 6.51733960488242e-05,
        "steepest": 0.001516716888470924,
        "minimum": 0.02221946860939524,
        "divergence": 0.2049074689815846,
        "quartile": 0.005777302002774172,
        "lr": 0.005777302002774172,
        "band": [0.00182694330594188, 0.0182694330594188],
        "ambiguous": False,
    },
    "mnist/momentum": {
        "pieces": 1,
        "points": 182,
        "window_points": 13,
        "sigma": 0.04918522331726593,
        "tolerance": 0.2056537500473898,
        "status": "ok",
        "fall_start": 0.0005478901179593945,
        "steepest": 0.013987131026472387,
        "minimum": 0.10718913192051285,
        "divergence": 1.1895340673703207,
        "quartile": 0.05534946325155171,
        "lr": 0.05534946325155171,
        "band": [0.017503037114269263, 0.17503037114269265],
        "ambiguous": False,
    },
    "sine/rmsprop": {
        "pieces": 1,
        "points": 125,
        "window_points": 13,
        "sigma": 0.04587346110977325,
        "tolerance": 0.19180657662209388,
        "status": "ok",
        "fall_start": 1.956398343517065e-05,
        "steepest": 0.00014992684327860457,
        "minimum": 0.00505263106533568,
        "divergence": 0.007316807143427192,
        "quartile": 0.0005458953612428786,
        "lr": 0.0005458953612428786,
        "band": [0.00017262727056479023, 0.0017262727056479026],
        "ambiguous": False,
    },
    "spiral/adagrad": {
        "pieces": 1,
        "points": 1000,
        "window_points": 63,
        "sigma": 0.060037774675669946,
        "tolerance": 0.11348457313143127,
        "status": "ok",
        "fall_start": 0.5137013543351339,
        "steepest": 0.893204599858096,
        "minimum": 2.602647881969004,
        "divergence": None,
        "quartile": 0.5728004392966821,
        "lr": 0.3861085145560021,
        "band": [0.00978560534015273, 1.220982329981243],
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
