"""``lrfinder.verify``: candidates, probes from scratch, the choice, JSON, parallel backends.

Everything runs on digits with an 8-unit network and probes of 64 steps (rungs of 10,
26 and 64), so each verification takes a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import lrfinder
from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr, load_dataset
from lrfinder.errors import LRFinderError
from lrfinder.verification import (
    COST_TARGET,
    GRID_RATES,
    GRID_SEEDS,
    Verification,
    VerificationInterrupted,
    VerifyConfig,
    _confirmed,
    _Job,
    _Run,
    _Standing,
    _State,
    candidate_rates,
    default_steps,
    load_verification,
    verify,
)

STEPS = 64


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def tested(digits):
    """A short range test of Adam on digits: (result, model)."""
    model = TwoLayerNet.for_dataset(digits, 8, seed=0)
    schedule = LearningRateSearcher.exponential(1e-4, 10.0, 80)
    result = find_lr(model, digits, optimizer="adam", schedule=schedule, batch_size=32)
    assert result.suggestion is not None
    return result, model


@pytest.fixture(scope="module")
def checked(tested, digits) -> Verification:
    result, model = tested
    return verify(result, model, digits, steps=STEPS)


# --------------------------------------------------------------------------- candidates


def test_candidates_hold_the_suggestion_and_span_its_band_and_half_a_decade():
    config = VerifyConfig()
    lrs = candidate_rates(0.01, (0.005, 0.02), config)
    assert any(math.isclose(lr, 0.01) for lr in lrs)
    assert min(lrs) <= 0.01 / 10**config.span_below * 1.0001
    assert max(lrs) >= 0.01 * 10**config.span_above / 1.0001
    assert sum(lr > 0.01 * 1.0001 for lr in lrs) >= 1
    assert list(lrs) == sorted(lrs) and len(lrs) <= config.max_candidates


def test_candidates_are_a_quarter_decade_apart_when_few_enough():
    lrs = candidate_rates(0.01, (0.005, 0.02), VerifyConfig(span_above=1.0, max_candidates=9))
    assert np.allclose(np.diff(np.log10(lrs)), 0.25)
    assert math.isclose(lrs[0], 10**-2.5) and math.isclose(lrs[-1], 0.1)


def test_a_wide_band_gets_a_coarser_grid_not_more_candidates():
    config = VerifyConfig()
    lrs = candidate_rates(0.01, (1e-5, 1.0), config)
    assert len(lrs) <= config.max_candidates
    assert min(lrs) <= 1e-5 * 1.0001 or np.diff(np.log10(lrs))[0] > 0.25
    assert max(lrs) >= 1.0 / 1.0001 or len(lrs) == config.max_candidates


def test_no_span_above_still_puts_one_candidate_above():
    lrs = candidate_rates(0.1, None, VerifyConfig(span_above=0.0, span_below=0.0))
    assert len(lrs) == 2 and lrs[1] > 0.1


def test_default_steps_are_a_few_hundred_or_one_epoch():
    assert default_steps(1000, 64) == VerifyConfig().min_steps
    assert default_steps(60000, 64) == 937


# --------------------------------------------------------------------------- the verification


def test_verify_probes_every_candidate_and_reports_its_budget(checked, tested):
    result, _ = tested
    v = checked
    assert v.suggestion == result.suggestion
    assert v.budgets == (10, 26, 64)
    assert len(v.probes) == 2 * len(v.candidates)
    assert v.lr in v.candidates
    assert v.steps_spent == sum(p.steps_trained for p in v.probes)
    assert v.grid_steps == GRID_RATES * GRID_SEEDS * STEPS
    assert v.cost_ratio <= COST_TARGET
    assert "64" in v.reason and "grid search" in v.reason
    assert v.settings["optimizer"] == "adam" and v.settings["batch_size"] == 32
    assert isinstance(v.confirmed, bool)


def test_every_probe_starts_from_scratch_and_is_scored_before_training(checked):
    for probe in checked.probes:
        assert probe.steps[0] == 0
        assert probe.val_loss[0] == pytest.approx(checked.probes[probe.seed].val_loss[0])
        assert 0 <= probe.val_accuracy[0] <= 1
    # the same seed draws the same initial weights for every candidate
    first = {p.seed: p.val_loss[0] for p in checked.probes}
    assert all(p.val_loss[0] == first[p.seed] for p in checked.probes)


def test_only_the_chosen_rate_runs_on_after_the_choice(checked):
    beyond = {p.lr for p in checked.probes if p.steps_trained > checked.decided_at}
    assert beyond <= {checked.lr}  # empty when the choice is a stand-in the target cut short
    reached = max(p.steps_trained for p in checked.probes_of(checked.lr))
    assert (
        reached == STEPS
        or f"{reached} steps without blowing up (not {STEPS}: the cost target stopped it there)"
        in checked.reason
    )


def test_rows_mark_the_choice_and_the_suggestion(checked):
    rows = checked.rows()
    assert [r["lr"] for r in rows] == list(checked.candidates)
    assert sum(r["chosen"] for r in rows) == 1
    assert sum(r["suggestion"] for r in rows) == 1


def test_the_same_seeds_give_the_same_verification(tested, digits, checked):
    result, model = tested
    again = verify(result, model, digits, steps=STEPS)
    assert again.to_dict() == checked.to_dict()
    other = verify(result, model, digits, steps=STEPS, seed=5)
    assert other.to_dict() != checked.to_dict()


def test_the_model_is_not_trained(tested, digits):
    result, model = tested
    before = model.state_dict()
    verify(result, model, digits, steps=8, lrs=[0.01])
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


def test_json_round_trip(checked, tmp_path):
    path = checked.to_json(tmp_path / "verify.json")
    loaded = load_verification(path)
    assert loaded.to_dict() == checked.to_dict()
    assert loaded.lr == checked.lr and loaded.probes == checked.probes


def test_load_refuses_a_range_test_file(tested, tmp_path):
    result, _ = tested
    path = result.to_json(tmp_path / "run.json")
    with pytest.raises(LRFinderError, match="not a verification"):
        load_verification(path)


def test_exported_lazily_from_the_package():
    import lrfinder.verification  # noqa: F401  (the module has its own name: no clash)

    assert lrfinder.verify is verify
    assert lrfinder.Verification is Verification
    from lrfinder import verify as imported

    assert imported is verify


# --------------------------------------------------------------------------- the choice


def test_a_lower_rate_within_the_noise_is_preferred():
    standing = _Standing((0.01, 0.03, 0.1), {0.01: 1.00, 0.03: 0.97, 0.1: 1.5}, 0.05, 0.0)
    assert standing.best() == 0.03
    assert standing.preference()[0] == 0.01
    clear = _Standing((0.01, 0.03), {0.01: 1.00, 0.03: 0.80}, 0.05, 0.0)
    assert clear.preference()[0] == 0.03


def test_the_suggestion_stands_while_it_is_within_the_noise():
    standing = _Standing((0.01, 0.03, 0.1), {0.01: 1.00, 0.03: 0.97, 0.1: 0.99}, 0.05, 0.0)
    assert standing.preference(favourite=0.1)[0] == 0.1
    assert standing.preference(favourite=0.3)[0] == 0.01  # not a candidate: no effect
    worse = _Standing((0.01, 0.03, 0.1), {0.01: 1.00, 0.03: 0.97, 0.1: 1.5}, 0.05, 0.0)
    assert worse.preference(favourite=0.1)[0] == 0.01


def test_the_suggestion_survives_a_rung_while_within_the_noise():
    standing = _Standing((0.01, 0.03, 0.1), {0.01: 1.00, 0.03: 0.97, 0.1: 0.99}, 0.05, 0.0)
    assert standing.survivors(2) == [0.03, 0.1]
    assert standing.survivors(2, favourite=0.01) == [0.01, 0.03]
    assert standing.survivors(1, favourite=0.5) == [0.03]


class _Linear:
    """A protocol model of 64 inputs that checks nothing itself."""

    def __init__(self):
        self.params = {"W": np.zeros((64, 10), dtype=np.float32)}

    def reinitialize(self, seed):
        self.params["W"][...] = np.random.default_rng(seed).normal(0, 0.01, (64, 10))

    def loss_and_grads(self, x, y):
        z = x @ self.params["W"]
        return float((z**2).mean()), {"W": x.T @ z / len(x)}


def test_data_the_model_cannot_take_fails_in_one_line_before_any_probe(tested, digits):
    result, _ = tested
    narrow = (digits.x_train[:, :60], digits.y_train)  # the model takes 64 features
    with pytest.raises(LRFinderError, match=r"scoring the held-out rows failed.*\(60,\) per row"):
        verify(result, _Linear(), narrow, steps=STEPS)


def test_a_rate_next_to_one_that_blew_up_is_passed_over(tested, digits):
    result, model = tested
    v = verify(result, model, digits, lrs=[0.003, 0.3, 1e4], steps=STEPS, optimizer="sgd")
    assert all(p.diverged for p in v.probes_of(1e4))
    scores = v.scores_at(v.decided_at)
    assert scores[0.3] < scores[0.003]  # 0.3 did better, but 1e4 right above it blew up
    # 0.003 is two decades below: a stand-in a designed grid step (a quarter decade) below
    # 0.3 is probed from scratch instead, and chosen
    stand_in = 0.3 / 10**0.25
    assert v.lr == pytest.approx(stand_in)
    assert stand_in in v.candidates and v.candidates == tuple(sorted(v.candidates))
    assert all(p.steps_trained > v.decided_at for p in v.probes_of(v.lr))
    assert "0.3 ranked higher, but the next rate up failed" in v.reason
    assert v.cost_ratio <= COST_TARGET
    plain = verify(
        result,
        model,
        digits,
        lrs=[0.003, 0.3, 1e4],
        steps=STEPS,
        optimizer="sgd",
        config=VerifyConfig(back_off=False),
    )
    assert plain.lr == 0.3


def _one_seed_run(lrs, suggestion=None, blown_steps=2) -> _Run:
    """A one-seed race over ``lrs`` whose probes all went from 2.0 to 1.0 in 2 steps, except
    1e4, which blew up by ``blown_steps``."""
    jobs = {(lr, 0): _Job(lr, 0, None, None, None, None, None, 1, VerifyConfig()) for lr in lrs}
    run = _Run(jobs, lrs, 1, (1, 2), VerifyConfig(), 1, None, suggestion)
    for lr in lrs:
        run.states[(lr, 0)] = _State(
            steps=(0, blown_steps if lr == 1e4 else 2),
            val_loss=(2.0, 1.0),
            train_loss=(2.0, 1.0),
            divergence="blew up" if lr == 1e4 else "",
        )
    return run


def test_a_rate_at_the_edge_gives_way_to_the_candidate_just_below_it():
    """The probes ranked 0.3 best, but 1e4 above it failed: the choice is the candidate one
    step below 0.3 (0.2, within a designed grid step, which no rung kept), not the next
    survivor (0.001) far lower."""
    lrs = (0.001, 0.2, 0.3, 1e4)
    run = _one_seed_run(lrs)
    decided = _Standing((0.001, 0.3), {0.001: 0.8, 0.3: 0.5}, 0.0, 0.0)
    last = {lr: _Standing((lr,), {lr: 1.0}, 0.0, 0.0) for lr in lrs[:3]}
    choice = run._confirm((decided, 2), last)
    assert choice.lr == 0.2
    assert choice.passed_over == ((0.3, "the next rate up failed"),)


def test_a_rate_that_failed_itself_gets_no_stand_in():
    """The probes ranked 0.3 best and 3 next, but 3 learned nothing and 300 blew up. 0.3, at
    the edge with no candidate below, is taken: not a stand-in for 3 (1.69), which would
    lie above 0.3, next to 3's failure."""
    lrs, budgets = (0.3, 3.0, 300.0), (1, 2)
    jobs = {(lr, 0): _Job(lr, 0, None, None, None, None, None, 1, VerifyConfig()) for lr in lrs}
    run = _Run(jobs, lrs, 1, budgets, VerifyConfig(), 1, None, None)
    run.states[(0.3, 0)] = _State(steps=(0, 1), val_loss=(2.0, 0.6), train_loss=(2.0, 0.5))
    run.states[(3.0, 0)] = _State(steps=(0, 1), val_loss=(2.0, 2.1), train_loss=(2.0, 1.99))
    run.states[(300.0, 0)] = _State(steps=(0, 1), val_loss=(2.0, 9.0), divergence="blew up")

    def advance(alive, budget):  # the chosen rate trains on
        for lr in alive:
            state = run.states[(lr, 0)]
            run.states[(lr, 0)] = replace(
                state, steps=(0, 1, budget), val_loss=(2.0, 0.6, 0.5), train_loss=(2.0, 0.5, 0.4)
            )

    run._advance = advance
    decided = _Standing((0.3, 3.0), {0.3: 0.6, 3.0: 2.1}, 0.0, 0.0)
    choice = run._confirm((decided, 1), {lr: decided for lr in lrs[:2]})
    assert choice.lr == 0.3
    assert run.candidates == lrs


@pytest.mark.parametrize("rung_steps, expected", [(10, 100), (40, 87)])
def test_a_stand_in_is_confirmed_only_as_far_as_the_cost_target_allows(rung_steps, expected):
    """A candidate taking an edge rate's place may have trained only the first rung. It
    trains on to the full budget (100 steps) while the steps spent stay within 1/20 of the
    25 x 3 x 100-step grid (375 steps), and stops short of it when they would not."""
    lrs, final, seeds = (0.01, 0.03, 0.1, 0.3, 1.0), 100, 2
    run = _Run(
        {(lr, s): None for lr in lrs for s in range(seeds)},
        lrs,
        seeds,
        (10, final),
        VerifyConfig(),
        1,
        None,
        None,
    )
    for key in run.states:
        run.states[key] = _State(steps=(0, 10), val_loss=(2.0, 1.0), train_loss=(2.0, 1.0))
    for s in range(seeds):  # two rates went on to a later rung
        run.states[(0.1, s)] = _State(steps=(0, rung_steps), val_loss=(2.0, 1.0))
        run.states[(0.3, s)] = _State(steps=(0, rung_steps), val_loss=(2.0, 1.0))
    spent = sum(state.step for state in run.states.values())
    until = run._affordable(0.03, final)
    assert until == expected
    assert spent + seeds * (until - 10) <= COST_TARGET * GRID_RATES * GRID_SEEDS * final


def test_a_stand_in_the_cost_target_leaves_no_steps_is_skipped():
    """0.3 ranked best next to a blow-up; its stand-in (0.3 / 10**0.25, new) would start
    from scratch, but the probes have spent the whole 1/20 already: the choice goes on to
    the next preferred rate instead of failing on a probe that never ran."""
    lrs = (0.001, 0.3, 1e4)
    run = _one_seed_run(lrs, blown_steps=5)  # 2 + 2 + 5: over the 7 that 1/20 of 25 x 3 x 2 allows
    decided = _Standing((0.001, 0.3), {0.001: 0.8, 0.3: 0.5}, 0.0, 0.0)
    last = {lr: decided for lr in lrs[:2]}
    choice = run._confirm((decided, 2), last)
    assert choice.lr == 0.001
    assert choice.passed_over == ((0.3, "the next rate up failed"),)
    assert 0.3 / 10**0.25 not in run.candidates  # never probed, so not listed


def test_the_reason_names_rates_the_probes_could_not_tell_from_the_best():
    """0.1 scored best, but 0.3 was within the seeds' noise of it: the probes could not tell
    the two apart, and the reason says so instead of only "the best held-out loss"."""
    lrs = (0.1, 0.3, 1.0)
    jobs = {
        (lr, s): _Job(lr, s, None, None, None, None, None, 1, VerifyConfig())
        for lr in lrs
        for s in (0, 1)
    }
    run = _Run(jobs, lrs, 2, (1, 2), VerifyConfig(), 1, None, 0.1)
    for key in jobs:
        run.states[key] = _State(steps=(0, 2), val_loss=(2.0, 1.0), train_loss=(2.0, 1.0))

    def reason(noise: float) -> str:
        decided = _Standing(lrs, {0.1: 0.50, 0.3: 0.52, 1.0: 0.9}, noise, 0.0)
        choice = run._confirm((decided, 2), {lr: decided for lr in lrs})
        assert choice.lr == 0.1
        return run.verification(0.1, choice, {"seeds": [0, 1]}).reason

    assert "the best held-out loss at 2 steps, though 0.3 was within the seeds' noise of it" in (
        reason(noise=0.05)
    )
    assert "within the seeds' noise" not in reason(noise=0.01)


def test_a_suggestion_passed_over_at_the_edge_is_not_confirmed():
    """0.3 scored best, so within the noise of the best; but it sits below a rate that
    blew up and gives way to 0.2. The verdict must not tell the user it was confirmed."""
    lrs = (0.2, 0.3, 1e4)
    run = _one_seed_run(lrs, suggestion=0.3)
    decided = _Standing((0.2, 0.3), {0.2: 0.8, 0.3: 0.5}, 0.0, 0.0)
    last = {lr: decided for lr in lrs[:2]}
    choice = run._confirm((decided, 2), last)
    assert choice.lr == 0.2
    assert _confirmed(0.3, lrs, choice) is False
    assert _confirmed(0.2, lrs, choice) is True  # the chosen rate itself


def test_the_edge_is_judged_on_the_training_loss():
    """0.3 trains as well as 0.1 but overfits: its held-out loss rises. That says nothing about
    stability, so 0.1 is not at the edge; a rate whose training loss stalls (0.3 in the second
    run) does put 0.1 there."""
    lrs = (0.03, 0.1, 0.3)

    def edge_of_01(train_at_03: float) -> bool:
        run = _Run({(lr, 0): None for lr in lrs}, lrs, 1, (1, 2), VerifyConfig(), 1, None, None)
        for lr in lrs:
            run.states[(lr, 0)] = _State(steps=(0, 2), val_loss=(2.0, 1.0), train_loss=(2.0, 1.0))
        run.states[(0.3, 0)] = _State(
            steps=(0, 2), val_loss=(2.0, 3.0), train_loss=(2.0, train_at_03)
        )
        return run._at_edge(0.1)

    assert not edge_of_01(train_at_03=0.9)
    assert edge_of_01(train_at_03=1.95)


def test_a_classifier_stuck_at_chance_marks_the_edge_though_its_loss_fell():
    """A fresh classifier starts overconfident (held-out loss 2.5, above the 2.3 of guessing
    among 10 classes). At 1.0 it sticks at chance: its training loss still falls by that gap,
    0.3, more than a tenth of the best fall, but its accuracy never rises. So 0.3, below it,
    is at the edge. A model that reports no accuracy is judged on its loss, as before."""
    lrs = (0.1, 0.3, 1.0)

    def edge_of_03(accuracy: bool) -> bool:
        run = _Run({(lr, 0): None for lr in lrs}, lrs, 1, (1, 2), VerifyConfig(), 1, None, None)
        for lr in lrs:
            stuck = lr == 1.0
            run.states[(lr, 0)] = _State(
                steps=(0, 2),
                val_loss=(2.5, 2.2 if stuck else 0.3),
                val_accuracy=(0.1, 0.1 if stuck else 0.9) if accuracy else (np.nan, np.nan),
                train_loss=(2.5, 2.2 if stuck else 0.2),
            )
        return run._at_edge(0.3)

    assert edge_of_03(accuracy=True)
    assert not edge_of_03(accuracy=False)


def test_overfitting_is_not_divergence(tested, digits):
    """Scored on held-out labels shifted by one, the held-out loss climbs far above its start
    while the training loss falls: that probe overfits (its score says so), it has not
    diverged, and a lone candidate is still chosen."""
    result, model = tested
    val = (digits.x_test, (digits.y_test + 1) % 10)
    v = verify(result, model, digits, lrs=[0.03], steps=4 * STEPS, val_data=val)
    assert any(p.val_loss[-1] > VerifyConfig().blowup * p.val_loss[0] for p in v.probes)
    assert not any(p.diverged for p in v.probes)
    assert v.lr == 0.03


class _Drifting:
    """A protocol model whose loss is its one weight and whose gradient is ``-slope``:
    plain SGD moves the loss by ``slope * lr`` each step, whatever the data."""

    def __init__(self, slope: float):
        self.slope = slope
        self.params = {"w": np.ones(1)}

    def reinitialize(self, seed):
        self.params["w"][...] = 1.0

    def loss_and_grads(self, x, y):
        return float(self.params["w"][0]), {"w": np.full(1, -self.slope)}


@pytest.mark.parametrize(
    "slope, lr, diverged",
    [
        (1.0, 0.01, True),  # climbs about 15% from the first rung to the second
        (-1.0, 0.01, False),  # falls as much
        (1.0, 1e-5, False),  # climbs, but by under 1% (``tolerance``) of the untrained loss
    ],
)
def test_a_training_loss_that_climbs_back_after_the_first_rung_has_diverged(
    tested, digits, slope, lr, diverged
):
    """At a constant rate a stable run's training loss falls. One that climbs back from the
    first rung to the second, beyond its batches' noise (none here) and by more than a
    ``tolerance`` of the untrained loss, oscillates: it has diverged, far below the 4x of
    a blow-up (the loss here reaches 1.26), and is never chosen."""
    result, _ = tested
    data = (digits.x_train, digits.y_train)
    v = verify(result, _Drifting(slope), data, lrs=[lr], steps=STEPS, optimizer="sgd")
    assert max(p.val_loss[-1] for p in v.probes) < VerifyConfig().blowup
    assert all(p.diverged == diverged for p in v.probes)
    assert all(p.divergence == ("climbed" if diverged else "") for p in v.probes)
    assert (v.lr is None) == diverged


def test_when_every_survivor_diverges_the_choice_falls_back_to_the_rung_before():
    """0.1 and 0.3 led the first rung and both diverged on the way to the second; 0.03,
    which the first rung cut, did not. The choice is made among the first rung's
    candidates then, and 0.03 trains on as far as the steps left allow, instead of there
    being no rate at all."""
    lrs, budgets = (0.01, 0.03, 0.1, 0.3), (2, 4, 8)
    config = VerifyConfig(back_off=False)
    run = _Run({(lr, 0): None for lr in lrs}, lrs, 1, budgets, config, 1, None, None)
    first = {0.01: 0.9, 0.03: 0.8, 0.1: 0.5, 0.3: 0.4}

    def advance(alive, budget):
        for lr in alive:
            state = run.states[(lr, 0)]
            if state.diverged:
                continue
            run.states[(lr, 0)] = _State(
                steps=(*state.steps, budget) if state.steps else (0, budget),
                val_loss=(*state.val_loss, first[lr]) if state.steps else (2.0, first[lr]),
                train_loss=(*state.train_loss, first[lr]) if state.steps else (2.0, first[lr]),
                divergence="climbed" if budget > 2 and lr >= 0.1 else "",
            )

    run._advance = advance
    choice = run._race()
    assert choice.lr == 0.03 and choice.decided_at == 2
    climbed = "its training loss climbed back by 4 steps"
    assert choice.passed_over == ((0.3, climbed), (0.1, climbed))
    assert run.states[(0.03, 0)].step > 2


def test_the_tolerance_makes_agreeing_seeds_no_proof_of_a_difference():
    standing = _Standing((0.01, 0.03), {0.01: 1.000, 0.03: 0.995}, 0.0, 0.01)
    assert standing.preference()[0] == 0.01


def test_rates_that_blow_up_are_diverged_and_never_chosen(tested, digits):
    result, model = tested
    v = verify(result, model, digits, lrs=[0.01, 1e4], steps=STEPS, optimizer="sgd")
    bad = v.probes_of(1e4)
    assert all(p.diverged and p.divergence in ("non-finite", "blew up") for p in bad)
    assert Verification.from_dict(v.to_dict()).probes == v.probes  # the kind is kept
    assert all(p.steps_trained < STEPS for p in bad)
    assert v.lr == 0.01
    only_bad = verify(result, model, digits, lrs=[1e4], steps=STEPS, optimizer="sgd")
    assert only_bad.lr is None and "diverged" in only_bad.reason


def test_given_rates_without_the_suggestion_leave_confirmed_open(tested, digits):
    result, model = tested
    v = verify(result, model, digits, lrs=[0.003, 0.01], steps=STEPS)
    assert v.candidates == (0.003, 0.01)
    assert v.confirmed is None


def test_accuracy_can_be_the_score(tested, digits):
    result, model = tested
    v = verify(result, model, digits, steps=STEPS, config=VerifyConfig(metric="accuracy"))
    assert v.metric == "accuracy"
    assert v.lr in v.candidates


# --------------------------------------------------------------------------- models and data


class Linear:
    """A softmax regression that follows the model protocol but has no reinitialize."""

    def __init__(self, n_in, n_out, seed):
        rng = np.random.default_rng(seed)
        self.params = {"W": (rng.standard_normal((n_in, n_out)) * 0.01).astype(np.float32)}

    def loss_and_grads(self, x, y):
        z = x @ self.params["W"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -float(np.log(p[np.arange(len(y)), y] + 1e-12).mean())
        p[np.arange(len(y)), y] -= 1
        return loss, {"W": (x.T @ p / len(y)).astype(np.float32)}


def make_linear(seed):
    return Linear(64, 10, seed)


def test_a_model_factory_stands_in_for_reinitialize(tested, digits):
    result, _ = tested
    xy = (digits.x_train, digits.y_train)
    v = verify(result, None, xy, model_factory=make_linear, steps=STEPS)
    assert v.lr in v.candidates
    assert all(math.isnan(a) for p in v.probes for a in p.val_accuracy)  # no accuracy: loss only


def test_a_model_without_reinitialize_needs_a_factory(tested, digits):
    result, _ = tested
    with pytest.raises(LRFinderError, match="model_factory"):
        verify(result, Linear(64, 10, 0), digits, steps=STEPS)


def test_val_data_is_scored_instead_of_a_split(tested, digits):
    result, model = tested
    v = verify(result, model, digits, val_data=digits, steps=STEPS, lrs=[0.01])
    assert v.settings["held_out"].endswith("of val_data")
    assert v.settings["train_rows"] == len(digits.x_train)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"seeds": 0}, "seeds"),
        ({"steps": 2}, "steps"),
        ({"lrs": [-1.0]}, "lrs"),
        ({"lrs": []}, "lrs"),
        ({"optimizer": "nope"}, "unknown optimizer"),
        ({"config": "fast"}, "VerifyConfig"),
    ],
)
def test_bad_input_is_one_clear_error(tested, digits, kwargs, needle):
    result, model = tested
    with pytest.raises(LRFinderError, match=needle):
        verify(result, model, digits, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"rungs": (0.5, 0.9)}, {"keep": (3,)}, {"metric": "f1"}, {"blowup": 1.0}, {"tolerance": -1}],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(LRFinderError, match="VerifyConfig"):
        VerifyConfig(**kwargs)


def test_a_test_that_saw_no_learning_is_verified_at_the_top_of_its_range(digits):
    flat = lrfinder.RangeTestResult.from_curve(
        np.geomspace(1e-4, 1, 50), np.ones(50), settings={"optimizer": "sgd"}
    )
    assert flat.analysis.status == "flat"
    model = TwoLayerNet.for_dataset(digits, 8)
    v = verify(flat, model, digits, steps=16)
    config = VerifyConfig()
    assert min(v.candidates) <= 10**-config.fallback_decades * 1.0001
    assert max(v.candidates) > 1.0
    assert len(v.candidates) <= config.max_candidates
    assert v.suggestion is None and v.confirmed is None
    assert "no suggestion" in v.reason


def test_no_suggestion_for_another_reason_needs_rates(digits):
    rising = lrfinder.RangeTestResult.from_curve(
        np.geomspace(1e-4, 1, 50), np.geomspace(1, 100, 50), settings={"optimizer": "sgd"}
    )
    assert rising.suggestion is None and rising.analysis.status not in ("flat", "no_learning")
    model = TwoLayerNet.for_dataset(digits, 8)
    with pytest.raises(LRFinderError, match="lrs="):
        verify(rising, model, digits)
    v = verify(rising, model, digits, lrs=[0.1], steps=8)
    assert v.candidates == (0.1,) and v.confirmed is None


# --------------------------------------------------------------------------- parallel


def test_loky_workers_give_the_same_bits(tested, digits, checked):
    result, model = tested
    parallel = verify(result, model, digits, steps=STEPS, n_jobs=2)
    assert parallel.to_dict() == checked.to_dict()


def test_loky_workers_give_the_same_bits_on_data_they_open_as_a_map(
    tested, digits, checked, monkeypatch
):
    from lrfinder import parallel

    monkeypatch.setattr(parallel, "SHARE_BYTES", 0)  # digits is small: map it all the same
    maps = []
    share = parallel.JobRunner.share
    monkeypatch.setattr(
        parallel.JobRunner, "share", lambda runner, a: maps.append(share(runner, a)) or maps[-1]
    )
    result, model = tested
    mapped = verify(result, model, digits, steps=STEPS, n_jobs=2)
    assert all(isinstance(m, np.memmap) for m in maps)
    assert len({id(m) for m in maps}) == 2  # the training rows and the held-out rows, once
    assert mapped.to_dict() == checked.to_dict()


def test_a_dask_cluster_gives_the_same_bits(tested, digits, checked):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    result, model = tested
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster), parallel_config("dask"):
        on_dask = verify(result, model, digits, steps=STEPS)
    assert on_dask.to_dict() == checked.to_dict()


def test_ctrl_c_keeps_the_probes_that_finished(tested, digits, monkeypatch):
    result, model = tested
    original = TwoLayerNet.loss_and_grads
    count = {"n": 0}

    def loss_and_grads(self, x, y):
        count["n"] += 1
        if count["n"] > 60:  # rung 0 is 10 steps a probe: six probes finish, then Ctrl-C
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(TwoLayerNet, "loss_and_grads", loss_and_grads)
    with pytest.raises(VerificationInterrupted) as stop:
        verify(result, model, digits, steps=STEPS)
    partial = stop.value.verification
    assert partial.lr is None and "interrupted" in partial.reason
    finished = [p for p in partial.probes if p.steps_trained > 0]
    assert len(finished) >= 6  # a probe that diverged early took fewer steps
    assert all(p.steps[0] == 0 and p.steps_trained <= 10 for p in finished)
    assert partial.steps_spent <= 60


# --------------------------------------------------------------------------- plot


def test_the_plot_puts_the_probes_under_the_range_test(checked, tested, tmp_path):
    from lrfinder.plotting import plot_verification

    result, _ = tested
    fig = plot_verification(checked, result, path=tmp_path / "v.png")
    top, probes = fig.axes[:2]
    low, high = probes.get_xlim()
    assert low <= min(checked.candidates) and high >= max(checked.candidates)
    assert top.get_xlim() == probes.get_xlim()  # one lr axis
    assert any(f"{checked.lr:.1e}" in text.get_text() for text in probes.get_legend().texts)
    # the chosen rate is drawn where it was last scored, though no rung ends there
    reached = max(p.steps_trained for p in checked.probes_of(checked.lr))
    labels = [text.get_text() for text in probes.get_legend().texts]
    assert reached not in checked.budgets
    assert any(label.startswith(f"{reached} steps, mean of seeds") for label in labels)
    assert (tmp_path / "v.png").read_bytes().startswith(b"\x89PNG")
    alone = plot_verification(checked)
    assert len(alone.axes) == 1
