"""Verify a range-test suggestion with short training runs from scratch.

A range test reads a warm, briefly trained model whose rate keeps rising; you
will train a cold model at one constant rate. Where the two disagree (problems
that learn slowly, optimizers with a large first step) the best rate can lie
where the test saw nothing. :func:`verify` takes the last step of the classic
recipe itself ("the loss turns up near 0.79, so try 0.6, 0.7 and 0.8"): it
trains fresh models at a few rates around the suggestion and keeps the one that
does best on held-out data::

    result = lrfinder.find_lr(model, data, optimizer="adam")
    checked = lrfinder.verify(result, model, data)
    checked.lr, checked.confirmed, checked.reason

How it works
------------
Candidates
    Rates on a log grid through the suggestion, :attr:`VerifyConfig.per_decade`
    to a decade, spanning the suggestion's band and at least
    :attr:`VerifyConfig.span_below` decades below and :attr:`VerifyConfig.span_above`
    above it (the suggestion is cautious by design, so more room above).
Probes
    Each (candidate, seed) pair trains a fresh model (``model.reinitialize(seed)``,
    or ``model_factory(seed)``) with a fresh optimizer of the range test's kind and
    hyperparameters, at that constant rate, and is scored on the loss (and
    accuracy) of a fixed held-out set. Every candidate sees the same seeds, so
    they differ only by their rate. A probe whose loss turns non-finite, or whose
    training loss rises :attr:`VerifyConfig.blowup` times above the held-out loss
    it started from, or climbs back from the first rung to the second
    (:attr:`VerifyConfig.rise_sigmas`), has diverged and is stopped. (A held-out
    loss that rises while the training loss falls is overfitting: the score counts
    it, but it is no divergence.)
Rungs (successive halving)
    Training every candidate for the whole budget would cost as much as a small
    grid search. Instead all candidates train for the first rung
    (``0.15 * steps``), the best two continue to the second (``0.4 * steps``),
    where the choice is made, and the chosen rate alone runs on toward ``steps``,
    as far as the cost target allows (about 3/4 of it), to confirm that it does
    not blow up later (if it does, the next candidate takes its place). When every
    rate kept for a rung diverges on the way to it, the choice is made at the rung
    before, among the candidates it had cut. A probe resumes where it stopped, so
    no step is trained twice. A candidate that takes an edge rate's place (below)
    may have trained only the first rung, or none; it too runs on only as far as
    the cost target (:data:`COST_TARGET`) allows.
Edge
    A rate next to one that failed (blew up, or learned nothing) gives way to the
    candidate one step below it: a rate one step from failing in two seeds fails
    in some others (:attr:`VerifyConfig.back_off`). One step, not further: the
    probes said the edge rate learned best, so its neighbour is the safe choice
    closest to it. That step is a designed grid step (``1 / per_decade``
    decades) at most: when the candidate below lies further down (a wide band
    spreads 7 candidates up to 1.5 decades apart), a new rate that step below the
    edge rate is probed from scratch in its place. An edge rate with no candidate
    below, or one that failed itself (a stand-in below it would sit next to that
    failure), is taken only when nothing else is left.
No suggestion
    When the test saw no learning, the candidates span the top
    :attr:`VerifyConfig.fallback_decades` of the range it tested.
Choice
    The best mean score over seeds wins; but a lower rate whose score is within
    the seeds' noise of the best (:attr:`VerifyConfig.noise_sigmas` standard
    errors of a difference, at least :attr:`VerifyConfig.tolerance` of the
    score) is as good as far as the probes can tell, and safer, so it is chosen
    instead. ``confirmed`` says whether the range test's own suggestion was
    within that noise of the best, and safe (not passed over at the edge).
Cost
    :attr:`Verification.steps_spent` against :attr:`Verification.grid_steps`, the
    steps of a grid search answering the same question (25 rates, 3 seeds, the
    same budget each); the target is at most 1/20 of it.

The probes are independent jobs, run through :class:`lrfinder.parallel.JobRunner`:
``n_jobs`` loky processes by default, or a Dask or Ray cluster with
:func:`joblib.parallel_config`. Each probe takes its randomness from its seed
and uses one BLAS thread, so the result is bit-identical for every backend and
``n_jobs``. Large training and held-out rows reach local worker processes as
memory maps that go as soon as the race ends
(:meth:`~lrfinder.parallel.JobRunner.share`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lrfinder.analysis import NO_LEARNING
from lrfinder.batches import ArrayData, BatchSampler, as_array_data, param_dtype
from lrfinder.errors import (
    BATCH_ERRORS,
    LRFinderError,
    check_count,
    check_positive,
    first_batch_error,
)
from lrfinder.optimizers import OPTIMIZERS, Optimizer, get_optimizer
from lrfinder.outputs import write_json
from lrfinder.parallel import JobRunner, JobsInterrupted

#: Written into every verification JSON file.
SCHEMA_VERSION = 1

#: The grid search the cost is measured against: this many rates ...
GRID_RATES = 25
#: ... times this many seeds, each trained for the same budget as the probes.
GRID_SEEDS = 3
#: The cost target: at most this fraction of that grid search.
COST_TARGET = 1 / 20

#: Why a probe diverged (:attr:`Probe.divergence`), and how the reason says it: a loss
#: turned non-finite, its training loss rose :attr:`VerifyConfig.blowup` times above its
#: start, or it climbed back after the first rung (:attr:`VerifyConfig.rise_sigmas`).
DIVERGENCES = {
    "non-finite": "its loss turned non-finite",
    "blew up": "it blew up",
    "climbed": "its training loss climbed back",
}

#: Scores a probe can be chosen by.
METRICS = ("loss", "accuracy")

#: How the seeds of a candidate are combined into its score.
AGGREGATES = ("mean", "worst")


@dataclass(frozen=True)
class VerifyConfig:
    """Every constant of :func:`verify`, each with the reason for its value."""

    #: Candidates per decade of learning rate. Four (steps of 1.78x) resolve the
    #: width of a typical good region (a decade or more) without paying for rates
    #: that a from-scratch run cannot tell apart.
    per_decade: int = 4
    #: The candidates reach at least this many decades below the suggestion ...
    span_below: float = 0.5
    #: ... and this many above it. More above than below: on a slow learner ``auto``
    #: backs off below its good region, and there the best rate lies a decade or
    #: more above the suggestion (on the small problems of
    #: ``benchmarks/verify_quality.py``, 1.5 decades lost less than 1).
    span_above: float = 1.5
    #: At most this many candidates; a wider span gets a coarser grid instead. With
    #: the rungs below, 7 candidates x 2 seeds reach the choice within 1/20 of the grid.
    max_candidates: int = 7
    #: Rung budgets as fractions of ``steps``: every candidate trains to the first,
    #: the survivors to the next. The last rung confirms the choice. The first rung
    #: cuts 7 candidates to 2, so it has to outlast a fresh run's first transient, in
    #: which a higher rate can still be worse than a lower one it will beat: on the
    #: ``sine`` regression with Momentum, the rate best at 512 steps sits above the
    #: slower rates' plateau at 51 steps (1/10) and below it at 100, so 1/10 cut it.
    #: On the small problems of ``benchmarks/verify_quality.py``, over two sets of
    #: probe seeds, first rungs of 1/10 lost 1.79 and 2.02 points on average, 0.15
    #: lost 1.49 and 1.36 (0.2 did no better); on digits and MNIST the means held.
    rungs: tuple[float, ...] = (0.15, 0.4, 1.0)
    #: Candidates that go on after each rung but the last; a 1 makes the choice
    #: there (the following rung only confirms it). Cost per seed, in ``steps``:
    #: ``7 * 0.15 + 2 * (0.4 - 0.15)`` = 1.55 to the choice. The confirmation then
    #: runs on only as far as :data:`COST_TARGET` allows: with two seeds, 0.33 more
    #: when no probe blew up early (to about 3/4 of ``steps``). The budget goes to
    #: the rungs that choose because the confirmation overturned no choice in the
    #: 360 runs on the small problems, whether it ran to ``steps`` or 3/4 of it.
    keep: tuple[int, ...] = (2, 1)
    #: Probe length when ``steps`` is not given: at least this many steps (small
    #: problems need a few hundred before their loss shows what a rate does) ...
    min_steps: int = 512
    #: ... and at least this many epochs of the training data (about one epoch on
    #: large data, where a few hundred steps see only a small part of it).
    min_epochs: float = 1.0
    #: Held-out share of the training data when no ``val_data`` is given ...
    val_fraction: float = 0.2
    #: ... and at most this many held-out rows (each rung scores all of them).
    val_size: int = 2048
    #: A probe has diverged when its training loss (the mean over the second half of
    #: a rung's batches) exceeds this many times the held-out loss before training,
    #: or any loss turns non-finite.
    blowup: float = 4.0
    #: A probe has also diverged when its training loss rose from the first rung to the
    #: second by more than this many standard errors of the rise (from the spread of each
    #: rung's batch losses) and by more than ``tolerance`` of the untrained loss. At a
    #: constant rate a stable run's training loss falls; one that climbs back up is
    #: oscillating, however good its held-out score at the moment it is taken (on the
    #: ``sine`` regression with RMSProp such rates scored best at the second rung and
    #: poorly when trained on, and on average over the truth's seeds). Judged once, when
    #: a probe trains on from the first rung (to the second, or as an edge rate's
    #: stand-in): by the confirmation a good rate's loss lies near its floor, where one
    #: spiky batch makes a rise that passes both tests (on double-arc with Momentum,
    #: 0.010 to 0.018 in one seed).
    rise_sigmas: float = 2.0
    #: Two candidates are within noise when their mean scores differ by at most
    #: this many standard errors of the difference (seed-to-seed variance, pooled
    #: over the rung's candidates) ...
    noise_sigmas: float = 1.0
    #: ... or by at most this fraction of the best score, so that seeds that happen
    #: to agree do not make every difference significant.
    tolerance: float = 0.01
    #: Never choose a rate at the edge of stability: one whose next candidate up failed
    #: in some seed (see ``failed_fraction``) gives way to the candidate one step below
    #: it, or to a new rate ``1 / per_decade`` decades below it when that candidate lies
    #: further down (a fresh run's stability limit moves between seeds by about a
    #: designed grid step, not by a coarse grid's step of up to 1.5 decades). A rate one
    #: grid step from failing in two seeds fails in some others; the
    #: benchmark's truth (a mean over seeds) loses a third of its score to each such
    #: seed. (Counting the highest candidate as at the edge too, for want of evidence
    #: above it, lost more than it saved there.)
    back_off: bool = True
    #: Keep the range test's suggestion while it is within the seeds' noise of the best
    #: (it survives each rung, and is chosen): the probes then give no reason to move,
    #: and the suggestion also carries what the whole curve showed. Off, the lowest
    #: rate within the noise is chosen.
    keep_suggestion: bool = True
    #: For ``back_off``, a probe failed when it blew up, or when it learned less than this
    #: fraction of the most any probe learned by the same step. What it learned: for a
    #: classifier, the rise of its held-out accuracy; else the fall of its training loss.
    #: (Not the held-out loss: one that rises from overconfidence says nothing about
    #: stability. Not a classifier's loss either: a fresh network starts overconfident,
    #: above the loss of guessing, so a rate stuck at chance still "falls" by that gap.)
    failed_fraction: float = 0.1
    #: How a candidate's seeds make its score: ``"mean"``, or ``"worst"`` (the worst
    #: seed), which ranks a rate that only some seeds can use below a steady one.
    aggregate: str = "mean"
    #: When the range test saw no learning (no suggestion, status flat or no_learning),
    #: the candidates reach this many decades below the highest rate it tested (and
    #: ``span_above`` above it): a slow learner's rate lies near the largest stable one.
    fallback_decades: float = 3.0
    #: The score the choice is made on: held-out ``"loss"`` (smooth, defined for
    #: every task) or ``"accuracy"`` (classification only).
    metric: str = "loss"

    def __post_init__(self) -> None:
        check_count("per_decade", self.per_decade)
        check_count("max_candidates", self.max_candidates, 2)
        check_count("min_steps", self.min_steps)
        check_count("val_size", self.val_size)
        numbers = ("span_below", "span_above", "min_epochs", "noise_sigmas", "tolerance")
        numbers += ("failed_fraction", "rise_sigmas")
        for name in (*numbers, "fallback_decades"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise LRFinderError(f"VerifyConfig.{name} must be a number >= 0, got {value!r}")
        if not 0 < self.val_fraction < 1:
            raise LRFinderError(
                f"VerifyConfig.val_fraction must be in (0, 1), got {self.val_fraction!r}"
            )
        if not self.blowup > 1:
            raise LRFinderError(f"VerifyConfig.blowup must be > 1, got {self.blowup!r}")
        rungs = tuple(float(r) for r in self.rungs)
        if not rungs or rungs[-1] != 1.0 or np.any(np.diff(rungs) <= 0):
            raise LRFinderError(
                f"VerifyConfig.rungs must increase and end at 1.0, got {self.rungs!r}"
            )
        if len(self.keep) != len(rungs) - 1 or any(k < 1 for k in self.keep):
            raise LRFinderError(
                f"VerifyConfig.keep needs one count >= 1 for each rung but the last, "
                f"got {self.keep!r} for {len(rungs)} rungs"
            )
        if self.aggregate not in AGGREGATES:
            raise LRFinderError(
                f"VerifyConfig.aggregate must be one of {', '.join(AGGREGATES)}, "
                f"got {self.aggregate!r}"
            )
        if self.metric not in METRICS:
            raise LRFinderError(
                f"VerifyConfig.metric must be one of {', '.join(METRICS)}, got {self.metric!r}"
            )
        object.__setattr__(self, "rungs", rungs)
        object.__setattr__(self, "keep", tuple(int(k) for k in self.keep))


DEFAULT_CONFIG = VerifyConfig()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Probe:
    """One (candidate, seed) training run from scratch.

    Attributes
    ----------
    lr : float
        The constant learning rate.
    seed : int
        Seed of the initial weights and of the batch order.
    steps : tuple of int
        The steps at which the held-out set was scored: 0 (before training), then
        the end of each rung the probe reached (the step it diverged at instead,
        if it did).
    val_loss : tuple of float
        The held-out loss at those steps (NaN when non-finite).
    val_accuracy : tuple of float
        The held-out accuracy at those steps (NaN without accuracy).
    diverged : bool
        True when the loss turned non-finite, blew up, or climbed back between the
        first two rungs (see :attr:`VerifyConfig.blowup` and
        :attr:`VerifyConfig.rise_sigmas`); the probe was stopped there.
    divergence : str
        Which of those (a key of :data:`DIVERGENCES`); "" when it did not diverge, or
        for a file written before this was recorded.
    """

    lr: float
    seed: int
    steps: tuple[int, ...]
    val_loss: tuple[float, ...]
    val_accuracy: tuple[float, ...]
    diverged: bool
    divergence: str = ""

    @property
    def steps_trained(self) -> int:
        return self.steps[-1] if self.steps else 0

    def score_at(self, step: int, metric: str) -> float | None:
        """The probe's ``metric`` at ``step``, or None when it was not scored there."""
        if step not in self.steps:
            return None
        values = self.val_loss if metric == "loss" else self.val_accuracy
        return values[self.steps.index(step)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "seed": self.seed,
            "steps": list(self.steps),
            "val_loss": [_finite_or_none(v) for v in self.val_loss],
            "val_accuracy": [_finite_or_none(v) for v in self.val_accuracy],
            "diverged": self.diverged,
            "divergence": self.divergence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Probe:
        return cls(
            lr=float(data["lr"]),
            seed=int(data["seed"]),
            steps=tuple(int(s) for s in data["steps"]),
            val_loss=tuple(_nan_if_none(v) for v in data["val_loss"]),
            val_accuracy=tuple(_nan_if_none(v) for v in data["val_accuracy"]),
            diverged=bool(data["diverged"]),
            divergence=str(data.get("divergence", "")),
        )


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: frozen, and lossless through :meth:`to_json`.

    Attributes
    ----------
    lr : float or None
        The verified learning rate; None when every candidate diverged (or the
        run was interrupted before a choice).
    suggestion : float or None
        The range test's suggestion that was verified.
    candidates : tuple of float
        The rates probed, increasing.
    probes : tuple of Probe
        Every (candidate, seed) run, in candidate then seed order.
    confirmed : bool or None
        True when the suggestion is the verified rate, or when its score was within the
        seeds' noise of the best candidate's (at the last rung it reached) and it was not
        passed over for safety (at the edge of stability, or blown up later); None when
        it was not a candidate.
    reason : str
        In plain words: what was chosen, why, and the budget.
    budgets : tuple of int
        Steps at the end of each rung; the last is the full probe length.
    decided_at : int
        The rung budget at which the choice was made.
    metric : str
        The score the choice was made on (``"loss"`` or ``"accuracy"``).
    steps_spent : int
        Training steps of all probes together.
    grid_steps : int
        Steps of the grid search answering the same question:
        ``GRID_RATES * GRID_SEEDS * budgets[-1]``.
    settings : dict
        Optimizer, batch size, seeds, held-out set, configuration.
    """

    lr: float | None
    suggestion: float | None
    candidates: tuple[float, ...]
    probes: tuple[Probe, ...]
    confirmed: bool | None
    reason: str
    budgets: tuple[int, ...]
    decided_at: int
    metric: str
    steps_spent: int
    grid_steps: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_ratio(self) -> float:
        """``steps_spent / grid_steps``; the target is at most :data:`COST_TARGET`."""
        return self.steps_spent / self.grid_steps if self.grid_steps else math.nan

    @property
    def lr_steps(self) -> int:
        """Steps the verified rate trained: the full budget, or where the cost target
        stopped its confirmation (or a stand-in's probe); 0 without a verified rate."""
        if self.lr is None:
            return 0
        return max((p.steps_trained for p in self.probes if _same_rate(p.lr, self.lr)), default=0)

    def probes_of(self, lr: float) -> tuple[Probe, ...]:
        """The probes of one candidate, in seed order."""
        return tuple(p for p in self.probes if p.lr == lr)

    def rows(self) -> list[dict[str, Any]]:
        """One row per candidate, for tables and plots.

        Each row holds ``lr``, ``step`` (the last rung budget that every seed of
        the candidate reached; 0 when one diverged before the first), ``scores``
        (each seed's score there, None for a seed that diverged), ``mean`` (None
        when a seed diverged), ``diverged``, ``chosen`` and ``suggestion``.
        """
        out = []
        for lr in self.candidates:
            probes = self.probes_of(lr)
            reached = [b for b in self.budgets if all(b in p.steps for p in probes)]
            step = reached[-1] if reached else 0
            diverged = any(p.diverged for p in probes)
            scores = [None if p.diverged else p.score_at(step, self.metric) for p in probes]
            out.append(
                {
                    "lr": lr,
                    "step": step,
                    "scores": scores,
                    "mean": None if diverged or None in scores else float(np.mean(scores)),
                    "diverged": diverged,
                    "chosen": self.lr is not None and _same_rate(lr, self.lr),
                    "suggestion": self.suggestion is not None and _same_rate(lr, self.suggestion),
                }
            )
        return out

    def scores_at(self, step: int) -> dict[float, float]:
        """The mean score over seeds of every candidate scored at ``step`` (all its seeds,
        none diverged by then)."""
        out = {}
        for lr in self.candidates:
            values = [p.score_at(step, self.metric) for p in self.probes_of(lr)]
            if values and None not in values and all(math.isfinite(v) for v in values):
                out[lr] = float(np.mean(values))
        return out

    # -- serialisation ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "kind": "verification",
            "lr": self.lr,
            "suggestion": self.suggestion,
            "candidates": list(self.candidates),
            "probes": [p.to_dict() for p in self.probes],
            "confirmed": self.confirmed,
            "reason": self.reason,
            "budgets": list(self.budgets),
            "decided_at": self.decided_at,
            "metric": self.metric,
            "steps_spent": self.steps_spent,
            "grid_steps": self.grid_steps,
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "verification") -> Verification:
        if data.get("kind") != "verification" or data.get("schema") != SCHEMA_VERSION:
            raise LRFinderError(
                f"{source} is not a verification of schema {SCHEMA_VERSION} (got kind "
                f"{data.get('kind')!r}, schema {data.get('schema')!r}); write it with "
                "Verification.to_json or lrfinder verify --json"
            )
        try:
            return cls(
                lr=None if data["lr"] is None else float(data["lr"]),
                suggestion=None if data["suggestion"] is None else float(data["suggestion"]),
                candidates=tuple(float(v) for v in data["candidates"]),
                probes=tuple(Probe.from_dict(p) for p in data["probes"]),
                confirmed=None if data["confirmed"] is None else bool(data["confirmed"]),
                reason=str(data["reason"]),
                budgets=tuple(int(b) for b in data["budgets"]),
                decided_at=int(data["decided_at"]),
                metric=str(data["metric"]),
                steps_spent=int(data["steps_spent"]),
                grid_steps=int(data["grid_steps"]),
                settings=dict(data.get("settings") or {}),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise LRFinderError(f"{source} is not a valid verification: {err!r}") from None

    def to_json(self, path) -> Path:
        """Write the verification to ``path`` as JSON and return the path."""
        return write_json(self.to_dict(), path, "verification")


def load_verification(path) -> Verification:
    """Read a verification written by :meth:`Verification.to_json`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LRFinderError(f"verification file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LRFinderError(f"cannot read verification file {str(path)!r}: {err}") from None
    if not isinstance(data, dict):
        raise LRFinderError(f"verification file {str(path)!r} does not hold a JSON object")
    return Verification.from_dict(data, source=f"verification file {str(path)!r}")


class VerificationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`verify`; ``verification`` holds the probes that finished."""

    def __init__(self, verification: Verification):
        super().__init__("verification interrupted")
        self.verification = verification


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _nan_if_none(value) -> float:
    return math.nan if value is None else float(value)


def _same_rate(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9)


# --------------------------------------------------------------------------- candidates


#: Slack for rounding when counting grid steps in a span of decades.
_EPS = 1e-9


def candidate_rates(
    lr: float, band: tuple[float, float] | None = None, config: VerifyConfig = DEFAULT_CONFIG
) -> tuple[float, ...]:
    """Rates on a log grid through ``lr``, covering ``band`` and the configured spans.

    The grid has :attr:`VerifyConfig.per_decade` points a decade, or fewer when
    the span would need more than :attr:`VerifyConfig.max_candidates`; ``lr``
    itself is always one of them, and at least one lies above it.
    """
    lr = check_positive("lr", lr)
    centre = math.log10(lr)
    low = centre - config.span_below
    high = centre + max(config.span_above, 1.0 / config.per_decade)
    if band is not None:
        low, high = min(low, math.log10(band[0])), max(high, math.log10(band[1]))

    def counts(spacing: float) -> tuple[int, int]:
        below = max(0, math.ceil((centre - low) / spacing - _EPS))
        return below, max(1, math.ceil((high - centre) / spacing - _EPS))

    spacing = 1.0 / config.per_decade
    while sum(counts(spacing)) + 1 > config.max_candidates:
        spacing *= 1.25
    below, above = counts(spacing)
    return tuple(float(10 ** (centre + k * spacing)) for k in range(-below, above + 1))


def fallback_rates(top: float, config: VerifyConfig = DEFAULT_CONFIG) -> tuple[float, ...]:
    """The candidates when the range test saw no learning: the top of what it tested.

    A test that saw no learning stopped (or ended) at ``top``. A slow learner's good
    rates lie near the largest stable one, and may lie above where the test stopped,
    so the candidates reach :attr:`VerifyConfig.fallback_decades` below ``top`` and
    :attr:`VerifyConfig.span_above` above it, on a grid as coarse as
    :attr:`VerifyConfig.max_candidates` needs.
    """
    wide = replace(config, span_below=config.fallback_decades)
    return candidate_rates(top, None, wide)


# --------------------------------------------------------------------------- one probe


@dataclass(frozen=True)
class _Job:
    """What a probe needs besides its state; pickled to the worker with each step."""

    lr: float
    seed: int
    model: Any  # a template: copied, then reinitialised or given the saved weights
    model_factory: Callable | None
    optimizer: Optimizer  # a template: cloned
    train: ArrayData
    val: ArrayData
    batch_size: int
    config: VerifyConfig  # blowup, rise_sigmas and tolerance judge its divergence


@dataclass(frozen=True)
class _State:
    """A probe between rungs: its weights, optimizer state, batch order and record."""

    params: dict | None = None  # None: not started
    optimizer: dict | None = None
    rng: dict | None = None
    order: np.ndarray | None = None
    position: int = 0
    steps: tuple[int, ...] = ()
    val_loss: tuple[float, ...] = ()
    val_accuracy: tuple[float, ...] = ()
    #: at each scored step, the mean training loss over the second half of the rung's
    #: batches (at step 0: the held-out loss, the best estimate of the untrained loss)
    train_loss: tuple[float, ...] = ()
    train_se: tuple[float, ...] = ()  # the standard error of each train_loss (0 at step 0)
    divergence: str = ""  # a key of DIVERGENCES once it diverged

    @property
    def step(self) -> int:
        return self.steps[-1] if self.steps else 0

    @property
    def diverged(self) -> bool:
        return bool(self.divergence)


def _fresh_model(job: _Job):
    if job.model_factory is not None:
        return job.model_factory(job.seed)
    model = copy.deepcopy(job.model)
    model.reinitialize(job.seed)
    return model


def _evaluate(model, val: ArrayData) -> tuple[float, float]:
    """Held-out (loss, accuracy); accuracy NaN when the model reports none."""
    with np.errstate(all="ignore"):
        if callable(getattr(model, "evaluate", None)):
            loss, accuracy = model.evaluate(val.x, val.y)
        else:
            loss, accuracy = model.loss_and_grads(val.x, val.y)[0], None
    loss = float(loss)
    accuracy = math.nan if accuracy is None else float(accuracy)
    return (loss if math.isfinite(loss) else math.nan), accuracy


def _blew_up(loss: float, start: float, factor: float) -> bool:
    """Whether the finite ``loss`` rose ``factor`` times above ``start``."""
    return loss - start > (factor - 1.0) * abs(start)


def _rose(record: dict, recent: float, se: float, config: VerifyConfig) -> bool:
    """Whether the training loss ``recent`` (standard error ``se``) rose from the last one
    in ``record`` by more than the batches' noise and ``tolerance`` of the untrained loss
    (see :attr:`VerifyConfig.rise_sigmas`)."""
    rise = recent - record["train"][-1]
    noise = config.rise_sigmas * math.hypot(se, record["se"][-1])
    return rise > max(noise, config.tolerance * abs(record["loss"][0]))


def _advance(job: _Job, state: _State, until: int) -> _State:
    """Train one probe from where ``state`` left it to step ``until``, then score it."""
    model = _fresh_model(job)
    dtype = param_dtype(model)
    rng = np.random.default_rng(job.seed)
    sampler = BatchSampler(job.train, job.batch_size, rng, dtype)
    opt = job.optimizer.clone()
    record = {"steps": list(state.steps), "loss": list(state.val_loss)}
    record["accuracy"], record["train"] = list(state.val_accuracy), list(state.train_loss)
    record["se"] = list(state.train_se)
    if state.params is None:  # the score before training: the blow-up reference
        loss, accuracy = _evaluate(model, job.val)
        record["steps"].append(0), record["loss"].append(loss), record["accuracy"].append(accuracy)
        record["train"].append(loss)
        record["se"].append(0.0)
    else:
        for key, value in model.params.items():
            value[...] = state.params[key]
        opt.load_state_dict(state.optimizer)
        rng.bit_generator.state = state.rng
        sampler._order, sampler._pos = state.order, state.position  # resume the epoch
    nonfinite = False
    step = state.step
    trained = []  # this segment's training losses
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        while step < until:
            xb, yb = sampler.next()
            loss, grads = model.loss_and_grads(xb, yb)
            step += 1
            if not math.isfinite(float(loss)):
                nonfinite = True
                break
            trained.append(float(loss))
            opt.step(model.params, grads, job.lr)
    loss, accuracy = (math.nan, math.nan) if nonfinite else _evaluate(model, job.val)
    # Diverged is judged on the loss the probe trains on (the second half of this segment's
    # batches, against the held-out loss before training). A held-out loss that rises while
    # the training loss falls is overfitting, which the score already counts; it is not
    # divergence, and it must not mark the rates beside it as the edge of stability.
    half = trained[len(trained) // 2 :]
    recent = float(np.mean(half)) if half else record["loss"][0]
    se = float(np.std(half, ddof=1) / math.sqrt(len(half))) if len(half) > 1 else 0.0
    if nonfinite or not (math.isfinite(loss) and math.isfinite(recent)):
        divergence = "non-finite"
    elif _blew_up(recent, record["loss"][0], job.config.blowup):
        divergence = "blew up"
    elif len(record["train"]) == 2 and _rose(record, recent, se, job.config):
        divergence = "climbed"
    else:
        divergence = ""
    record["se"].append(se)
    record["steps"].append(step), record["loss"].append(loss), record["accuracy"].append(accuracy)
    record["train"].append(recent)
    return _State(
        params={k: np.array(v, copy=True) for k, v in model.params.items()},
        optimizer=opt.state_dict(),
        rng=rng.bit_generator.state,
        order=sampler._order,
        position=sampler._pos,
        steps=tuple(record["steps"]),
        val_loss=tuple(record["loss"]),
        val_accuracy=tuple(record["accuracy"]),
        train_loss=tuple(record["train"]),
        train_se=tuple(record["se"]),
        divergence=divergence,
    )


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class _Standing:
    """The candidates alive at one rung, scored: means over seeds and the noise."""

    lrs: tuple[float, ...]
    means: dict[float, float]  # non-diverged candidates only
    noise: float  # noise_sigmas standard errors of a difference of two means
    tolerance: float  # VerifyConfig.tolerance

    def best(self) -> float | None:
        return min(self.means, key=self.means.get) if self.means else None

    def margin(self) -> float:
        best = self.best()
        return max(self.noise, 0.0 if best is None else abs(self.means[best]) * self.tolerance)

    def within(self, lr: float) -> bool:
        best = self.best()
        return (
            best is not None
            and lr in self.means
            and self.means[lr] - self.means[best] <= (self.margin() + 1e-15)
        )

    def preference(self, favourite: float | None = None) -> list[float]:
        """Alive candidates, most preferred first: ``favourite`` if it is within noise
        of the best, then the lowest rate within noise, the others within noise
        upwards, and the rest by score."""
        close = sorted(lr for lr in self.means if self.within(lr))
        if favourite in close:
            close.remove(favourite)
            close.insert(0, favourite)
        rest = sorted((lr for lr in self.means if lr not in close), key=self.means.get)
        return close + rest

    def survivors(self, keep: int, favourite: float | None = None) -> list[float]:
        """The ``keep`` best candidates, increasing; ``favourite`` among them if it is
        within noise of the best (in place of the last of them)."""
        ranked = sorted(self.means, key=self.means.get)[:keep]
        if favourite is not None and favourite not in ranked and self.within(favourite):
            ranked[-1:] = [favourite]
        return sorted(ranked)


def _standing(
    lrs: Sequence[float], states: dict, budget: int, config: VerifyConfig, n_seeds: int
) -> _Standing:
    """Score the candidates ``lrs`` at ``budget``; lower is better (accuracy is negated)."""
    sign = 1.0 if config.metric == "loss" else -1.0
    column = "val_loss" if config.metric == "loss" else "val_accuracy"
    means, variances = {}, []
    for lr in lrs:
        runs = [states[(lr, s)] for s in range(n_seeds)]
        if any(r.diverged for r in runs):
            continue
        scores = np.array([sign * getattr(r, column)[r.steps.index(budget)] for r in runs])
        if not np.all(np.isfinite(scores)):
            continue
        means[lr] = float(scores.max() if config.aggregate == "worst" else scores.mean())
        if n_seeds > 1:
            variances.append(float(scores.var(ddof=1)))
    pooled = float(np.mean(variances)) if variances else 0.0
    noise = config.noise_sigmas * math.sqrt(2.0 * pooled / n_seeds)
    return _Standing(tuple(lrs), means, noise, config.tolerance)


# --------------------------------------------------------------------------- verify


def default_steps(n_train: int, batch_size: int, config: VerifyConfig = DEFAULT_CONFIG) -> int:
    """The probe length: ``max(min_steps, min_epochs epochs)`` at ``batch_size``."""
    per_epoch = max(1, n_train // max(1, min(batch_size, n_train)))
    return max(config.min_steps, int(math.ceil(config.min_epochs * per_epoch)))


def _budgets(steps: int, config: VerifyConfig) -> tuple[int, ...]:
    budgets = []
    for fraction in config.rungs:
        budget = max(1, int(round(fraction * steps)))
        if not budgets or budget > budgets[-1]:
            budgets.append(budget)
    return tuple(budgets)


def _optimizer_of(result, optimizer) -> Optimizer:
    if optimizer is not None:
        return get_optimizer(optimizer).clone()
    settings = getattr(result, "settings", {}) or {}
    name = settings.get("optimizer")
    if name not in OPTIMIZERS:
        raise LRFinderError(
            f"the result does not record a known optimizer (got {name!r}); pass optimizer= "
            "(a name or an Optimizer instance) to verify"
        )
    try:
        return OPTIMIZERS[name](**dict(settings.get("optimizer_hyperparameters") or {}))
    except (TypeError, ValueError) as err:
        raise LRFinderError(
            f"cannot rebuild optimizer {name!r} from the result's hyperparameters: {err}; "
            "pass optimizer= to verify"
        ) from None


def _check_model(model, model_factory) -> Any:
    if model_factory is not None:
        if not callable(model_factory):
            raise LRFinderError("model_factory must be a callable seed -> model")
        model = model_factory(0) if model is None else model
    if not hasattr(model, "params") or not callable(getattr(model, "loss_and_grads", None)):
        raise LRFinderError(
            "model must have a `params` dict of arrays and a `loss_and_grads(x, y)` method; "
            "see the model protocol in lrfinder.network"
        )
    if model_factory is None and not callable(getattr(model, "reinitialize", None)):
        raise LRFinderError(
            f"{type(model).__name__} has no reinitialize(seed) method, so verify cannot draw "
            "fresh weights; pass model_factory=lambda seed: <a new model>"
        )
    return model


def _held_out(
    data, val_data, config: VerifyConfig, seed: int, dtype
) -> tuple[ArrayData, ArrayData]:
    """The probes' training data and their fixed held-out set (scaled to ``dtype`` once)."""
    train = as_array_data(data, name="data")
    rng = np.random.default_rng(seed)
    if val_data is not None:
        held = as_array_data(val_data, name="val_data", split="test")
        idx = np.sort(rng.permutation(len(held.x))[: config.val_size])
    else:
        n = len(train.x)
        n_val = min(config.val_size, int(round(config.val_fraction * n)))
        if n_val < 1 or n - n_val < 1:
            raise LRFinderError(
                f"data has {n} rows, too few to hold some out for scoring; give val_data"
            )
        order = rng.permutation(n)
        idx, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
        held = train
        train = ArrayData(train.x[keep], train.y[keep], train.x_scale, train.name)
    x = held.x[idx].astype(dtype) * dtype.type(held.x_scale)
    return train, ArrayData(x, held.y[idx], 1.0, f"{held.name} (held out)")


def verifiable(result) -> bool:
    """Whether :func:`verify` chooses its own candidates for ``result`` (no ``lrs``): around
    its suggestion, or, when the test saw no learning, in the top of the range it tested
    (:func:`fallback_rates`)."""
    suggestion = result.analysis.suggestion
    return suggestion.lr is not None or (suggestion.status in NO_LEARNING and len(result.lrs) > 0)


def _check_lrs(lrs) -> tuple[float, ...]:
    values = sorted({check_positive("lrs", v, "positive finite learning rates") for v in lrs})
    if not values:
        raise LRFinderError("lrs is empty; give at least one learning rate")
    return tuple(values)


def verify(
    result,
    model=None,
    data=None,
    *,
    lrs: Sequence[float] | None = None,
    steps: int | None = None,
    seeds: int = 2,
    seed: int = 0,
    val_data=None,
    n_jobs: int | None = None,
    model_factory: Callable[[int], Any] | None = None,
    optimizer: str | Optimizer | None = None,
    batch_size: int | None = None,
    config: VerifyConfig | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> Verification:
    """Confirm (or correct) a range test's suggestion with short runs from scratch.

    Parameters
    ----------
    result : RangeTestResult
        The range test; its ``auto`` suggestion and band set the candidates, its
        settings the optimizer and batch size.
    model : object
        A model of the kind tested (the model protocol of :mod:`lrfinder.network`)
        with ``reinitialize(seed)``; it is copied, never trained. Not needed with
        ``model_factory``.
    data : Dataset or (x, y)
        Training data. Without ``val_data``, :attr:`VerifyConfig.val_fraction` of
        its training rows (at most :attr:`VerifyConfig.val_size`) are held out for
        scoring and the probes train on the rest; a Dataset's test split is
        never used, so it stays a fair test of the final model.
    lrs : sequence of float, optional
        The candidates; default: :func:`candidate_rates` around the suggestion.
    steps : int, optional
        The full probe length (the last rung). Default: :func:`default_steps`.
    seeds : int
        Seeds per candidate (probe ``i`` uses ``seed + i``), the same for every
        candidate; two or more measure the noise.
    seed : int
        The first probe seed; it also draws the held-out rows.
    val_data : Dataset or (x, y), optional
        Held-out data to score on (a Dataset's test split); at most
        :attr:`VerifyConfig.val_size` rows of it are used.
    n_jobs : int, optional
        Parallel probes, as for :class:`joblib.Parallel` (-1: every core); None
        takes it from :func:`joblib.parallel_config`, else 1. The backend is the
        one :func:`joblib.parallel_config` sets (loky, Dask, Ray ...). The result
        does not depend on either.
    model_factory : callable, optional
        ``model_factory(seed)`` returns a new model; for models without
        ``reinitialize``. It must be picklable to run on workers.
    optimizer : str or Optimizer, optional
        Default: the result's optimizer, rebuilt from its recorded name and
        hyperparameters (each probe gets a fresh one).
    batch_size : int, optional
        Default: the result's batch size.
    config : VerifyConfig, optional
        Every other constant (candidates, rungs, noise, held-out share).
    callback : callable, optional
        ``callback(done, total)`` in this process after each finished probe step;
        ``total`` is the number of probe steps planned so far.

    Returns
    -------
    Verification

    Raises
    ------
    LRFinderError
        For invalid settings, or a result without a suggestion and no ``lrs``.
    VerificationInterrupted
        On Ctrl-C, carrying a verification of the probes that had finished.
    """
    config = DEFAULT_CONFIG if config is None else config
    if not isinstance(config, VerifyConfig):
        raise LRFinderError(f"config must be a VerifyConfig, got {type(config).__name__}")
    if data is None:
        raise LRFinderError("data is missing; give the training data the range test used")
    model = _check_model(model, model_factory)
    seeds = check_count("seeds", seeds)
    suggestion = result.analysis.suggestion
    if lrs is not None:
        candidates = _check_lrs(lrs)
    elif not verifiable(result):
        raise LRFinderError(
            f"the range test gave no suggestion ({suggestion.reason}); give lrs=[...] "
            "(CLI: --lrs) to verify rates of your choice"
        )
    elif suggestion.lr is not None:
        candidates = candidate_rates(suggestion.lr, suggestion.band, config)
    else:
        candidates = fallback_rates(float(np.max(result.lrs)), config)
    opt = _optimizer_of(result, optimizer)
    settings = getattr(result, "settings", {}) or {}
    batch = check_count("batch_size", batch_size or settings.get("batch_size") or 64)
    train, val = _held_out(data, val_data, config, seed, param_dtype(model))
    _check_fits(model, val)  # model: the template (model_factory(0) when not given)
    if config.metric == "accuracy" and not _has_accuracy(model, val):
        raise LRFinderError(
            "VerifyConfig.metric='accuracy' needs a model that reports accuracy (a "
            "classifier); use metric='loss'"
        )
    steps = default_steps(len(train.x), batch, config) if steps is None else steps
    steps = check_count("steps", steps, len(config.rungs))
    budgets = _budgets(steps, config)
    seed = int(seed)
    jobs = {
        (lr, i): _Job(lr, seed + i, model, model_factory, opt, train, val, batch, config)
        for lr in candidates
        for i in range(seeds)
    }
    record = {
        "optimizer": opt.name,
        "optimizer_hyperparameters": dict(opt.hyperparameters),
        "batch_size": batch,
        "seeds": [seed + i for i in range(seeds)],
        "steps": steps,
        "train_rows": int(len(train.x)),
        "held_out": f"{len(val.x)} rows of {'val_data' if val_data is not None else 'data'}",
        "model": repr(model),
        "config": _plain(config),
    }
    run = _Run(jobs, candidates, seeds, budgets, config, n_jobs, callback, suggestion.lr)
    try:
        choice = run.race()
    except JobsInterrupted:
        raise VerificationInterrupted(run.verification(suggestion.lr, None, record)) from None
    return run.verification(suggestion.lr, choice, record)


def _plain(config: VerifyConfig) -> dict[str, Any]:
    """The config as JSON types (tuples as lists), so settings survive a round trip."""
    values = {k: getattr(config, k) for k in config.__dataclass_fields__}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _check_fits(model, val: ArrayData) -> None:
    """Score two held-out rows on a copy of ``model`` once, so that data it cannot take
    fails here, in one line, before any probe trains."""
    two = ArrayData(val.x[:2], val.y[:2], 1.0, val.name)
    try:
        _evaluate(copy.deepcopy(model), two)
    except BATCH_ERRORS as err:
        if isinstance(err, LRFinderError):
            raise
        name = type(model).__name__
        raise first_batch_error(
            f"{name}'s loss",
            err,
            f"x with shape {val.x.shape[1:]} per row, y of dtype {val.y.dtype}",
            f"give data that {name} takes (the data its range test used)",
            what="scoring the held-out rows",
        ) from err


def _has_accuracy(model, val: ArrayData) -> bool:
    """Whether ``model`` reports an accuracy (scored on one held-out row of a copy)."""
    one = ArrayData(val.x[:1], val.y[:1], 1.0, val.name)
    return not math.isnan(_evaluate(copy.deepcopy(model), one)[1])


@dataclass
class _Choice:
    lr: float | None
    decided_at: int
    standing: _Standing | None  # at the deciding rung
    last: dict[float, _Standing]  # each candidate's standing at the last rung it reached
    passed_over: tuple[tuple[float, str], ...] = ()  # preferred rates not chosen, and why


class _Run:
    """The racing of one verification: the probes' states, rung by rung."""

    def __init__(self, jobs, candidates, seeds, budgets, config, n_jobs, callback, suggestion):
        self.jobs, self.candidates, self.seeds = jobs, tuple(candidates), seeds
        match = [lr for lr in candidates if suggestion is not None and _same_rate(lr, suggestion)]
        #: The candidate kept while the probes show nothing against it (the suggestion).
        self.favourite = match[0] if match and config.keep_suggestion else None
        self.budgets, self.config, self.n_jobs = budgets, config, n_jobs
        self.callback = callback
        self.states: dict = {key: _State() for key in jobs}
        self.done, self.planned = 0, len(jobs)

    def _advance(self, lrs: Sequence[float], budget: int) -> None:
        keys = [(lr, i) for lr in lrs for i in range(self.seeds)]
        keys = [k for k in keys if not self.states[k].diverged and self.states[k].step < budget]
        tasks = [(self.jobs[k], self.states[k], budget) for k in keys]

        def finished(index: int, state: _State) -> None:
            self.states[keys[index]] = state
            self.done += 1
            if self.callback is not None:
                self.callback(self.done, max(self.planned, self.done))

        self.runner.run(_advance, tasks, on_result=finished)

    def race(self) -> _Choice:
        """Train rung by rung, keep the best few, decide, then confirm the choice."""
        with JobRunner(self.n_jobs) as self.runner:  # one set of workers for every rung
            self.jobs = {key: self._shared(job) for key, job in self.jobs.items()}
            return self._race()

    def _shared(self, job: _Job) -> _Job:
        """``job`` with its data as the runner hands large arrays to its workers."""
        share = self.runner.share_rows
        return replace(job, train=share(job.train), val=share(job.val))

    def _race(self) -> _Choice:
        alive = list(self.candidates)
        last: dict[float, _Standing] = {}
        previous = None  # the last rung's (standing, budget)
        for r, budget in enumerate(self.budgets):
            self._advance(alive, budget)
            standing = _standing(alive, self.states, budget, self.config, self.seeds)
            last.update({lr: standing for lr in alive})
            if not standing.means and previous is not None:
                # every survivor diverged on the way here: choose among the candidates
                # of the rung before, which it cut, as far as the steps left allow
                return self._confirm(previous, last)
            if r == len(self.budgets) - 1 or self.config.keep[r] == 1:
                return self._confirm((standing, budget), last)
            previous = (standing, budget)
            alive = standing.survivors(self.config.keep[r], self.favourite)
            if not alive:  # every candidate diverged
                return self._confirm(None, last)
            self.planned = self.done + len(alive) * self.seeds
        raise AssertionError("unreachable: the last rung decides")

    def _confirm(self, decided, last) -> _Choice:
        """The preferred candidate at the deciding rung that survives the last rung."""
        if decided is None:
            return _Choice(None, self.budgets[0], None, last)
        standing, budget = decided
        final = self.budgets[-1]
        preferred = standing.preference(self.favourite)
        order = preferred
        if self.config.back_off:  # a rate at the edge gives way to a rate just below it
            # (see _gave_way), and is itself taken only when nothing else is left
            order, last_resort = [], []
            for lr in preferred:
                below = self._gave_way(lr) if self._at_edge(lr) else lr
                if below is None:
                    last_resort.append(lr)
                elif below not in order:
                    order.append(below)
            order += [lr for lr in last_resort if lr not in order]
        failed: dict[float, str] = {}  # a rate that failed on the way to ``final``, and how
        for lr in order:
            until = final
            if budget < final or lr not in last:
                until = self._affordable(lr, final)
                if until == 0:  # a new stand-in, and the cost target leaves it no steps
                    failed[lr] = "the cost target left no steps to probe it"
                    continue
                if lr not in self.candidates:
                    self._add_candidate(lr)
                self._advance([lr], until)
                last[lr] = _standing([lr], self.states, until, self.config, self.seeds)
            if lr in last[lr].means:
                return _Choice(lr, budget, standing, last, self._passed(preferred, lr, failed))
            failed[lr] = self._how_it_diverged(lr)
        return _Choice(None, budget, standing, last, self._passed(preferred, None, failed))

    def _probes(self, lr: float) -> list[_State]:
        """The states of ``lr``'s probes, in seed order (none for a rate not added yet)."""
        return [self.states[(lr, s)] for s in range(self.seeds) if (lr, s) in self.states]

    def _how_it_diverged(self, lr: float) -> str:
        """Why ``lr`` failed, for the reason: how its first diverged seed diverged, and where
        (or, with no seed diverged, that it scored no finite value)."""
        probe = next((p for p in self._probes(lr) if p.diverged), None)
        if probe is None:
            return f"it scored no finite {self.config.metric}"
        return f"{DIVERGENCES.get(probe.divergence, 'it diverged')} by {probe.step} steps"

    def _affordable(self, lr: float, final: int) -> int:
        """How far to confirm ``lr``: to ``final``, or as far as the cost target allows.

        The plan (7 rates to the first rung, 2 to the second, 1 to ``final``) stays
        under :data:`COST_TARGET`; a rate that takes an edge rate's place may have had
        only the first rung, and then the steps left stop it short of ``final``.
        """
        cap = int(COST_TARGET * GRID_RATES * GRID_SEEDS * final)
        left = max(cap - sum(state.step for state in self.states.values()), 0)
        at = max((p.step for p in self._probes(lr)), default=0)  # 0: a new stand-in
        return min(final, at + left // self.seeds)

    def _passed(self, preferred, chosen, failed) -> tuple[tuple[float, str], ...]:
        """The rates preferred to ``chosen`` that were not chosen, and why."""
        if chosen is None:
            ahead = preferred
        else:  # up to the preferred rate that is, or gave way to, the chosen one
            stop = next(i for i, lr in enumerate(preferred) if chosen in (lr, self._gave_way(lr)))
            ahead = preferred[: stop + (preferred[stop] != chosen)]
        return tuple((lr, failed.get(lr, "the next rate up failed")) for lr in ahead)

    def _gave_way(self, lr: float) -> float | None:
        """The rate an edge rate gives way to; None for a rate off the edge, one with no
        candidate below it (or only a diverged one), or one that failed itself (a stand-in
        below it would sit next to a failure, at the edge too).

        That is the next candidate below when it lies within one designed grid step
        (``1 / per_decade`` decades), else a new rate that step below ``lr``, probed from
        scratch: a fresh run's stability limit moves between seeds by about a designed
        step, and a coarse grid's step can be a decade or more.
        """
        if not self._at_edge(lr) or self._failed(lr):
            return None
        below = self._step_below(lr)
        if below is None:
            return None
        step = 10.0 ** (1.0 / self.config.per_decade)
        return below if below * step >= lr * (1 - _EPS) else lr / step

    def _add_candidate(self, lr: float) -> None:
        """Probe a new rate (an edge rate's stand-in) with the same seeds as the others."""
        template = self.candidates[0]
        for s in range(self.seeds):
            self.jobs[(lr, s)] = replace(self.jobs[(template, s)], lr=lr)
            self.states[(lr, s)] = _State()
        self.candidates = tuple(sorted((*self.candidates, lr)))

    def _step_below(self, lr: float) -> float | None:
        """The next candidate below ``lr``, None when there is none or it diverged."""
        i = self.candidates.index(lr)
        if i == 0:
            return None
        below = self.candidates[i - 1]
        if any(p.diverged for p in self._probes(below)):
            return None
        return below

    def _at_edge(self, lr: float) -> bool:
        """True for a candidate whose next candidate up failed in some seed: it blew up,
        or it learned less than :attr:`VerifyConfig.failed_fraction` of the most any
        candidate learned by the same step (it only thrashes, or sticks at chance, at a
        rate where a smaller one learns)."""
        i = self.candidates.index(lr)
        if i == len(self.candidates) - 1:
            return False
        return self._failed(self.candidates[i + 1])

    def _failed(self, lr: float) -> bool:
        """True for a candidate that blew up or learned nothing in some seed (see
        :meth:`_at_edge`)."""
        return any(p.diverged or self._fell_short(p) for p in self._probes(lr))

    def _fell_short(self, probe: _State) -> bool:
        if len(probe.steps) < 2:
            return False
        step = probe.steps[-1]
        # a classifier: its accuracy was scored before training
        by_accuracy = bool(probe.val_accuracy) and math.isfinite(probe.val_accuracy[0])
        learned = [
            _learned(s, step, by_accuracy)
            for s in self.states.values()
            if step in s.steps and not s.diverged
        ]
        best = max((v for v in learned if math.isfinite(v)), default=0.0)
        return best > 0 and _learned(probe, step, by_accuracy) < self.config.failed_fraction * best

    def verification(self, suggestion, choice: _Choice | None, settings) -> Verification:
        probes = tuple(
            Probe(
                lr=lr,
                seed=self.jobs[(lr, i)].seed,
                steps=state.steps,
                val_loss=state.val_loss,
                val_accuracy=state.val_accuracy,
                diverged=state.diverged,
                divergence=state.divergence,
            )
            for lr in self.candidates
            for i in range(self.seeds)
            for state in (self.states[(lr, i)],)
        )
        spent = sum(p.steps_trained for p in probes)
        grid = GRID_RATES * GRID_SEEDS * self.budgets[-1]
        lr = None if choice is None else choice.lr
        confirmed = _confirmed(suggestion, self.candidates, choice)
        verification = Verification(
            lr=lr,
            suggestion=suggestion,
            candidates=self.candidates,
            probes=probes,
            confirmed=confirmed,
            reason="",
            budgets=self.budgets,
            decided_at=self.budgets[0] if choice is None else choice.decided_at,
            metric=self.config.metric,
            steps_spent=spent,
            grid_steps=grid,
            settings=settings,
        )
        return replace(verification, reason=_reason(verification, choice))


def _learned(state: _State, step: int, by_accuracy: bool) -> float:
    """What a probe had learned by ``step`` (see :attr:`VerifyConfig.failed_fraction`): the
    rise of its held-out accuracy, or the fall of its training loss."""
    i = state.steps.index(step)
    if by_accuracy:
        return state.val_accuracy[i] - state.val_accuracy[0]
    return state.train_loss[0] - state.train_loss[i]


def _confirmed(suggestion, candidates, choice: _Choice | None) -> bool | None:
    if choice is None or suggestion is None:
        return None
    match = [lr for lr in candidates if _same_rate(lr, suggestion)]
    if not match:
        return None
    if choice.lr is not None and _same_rate(choice.lr, match[0]):
        return True  # the probes led to the suggestion itself
    if any(_same_rate(lr, match[0]) for lr, _ in choice.passed_over):
        return False  # it scored well, but is not safe: at the edge, or it blew up later
    standing = choice.last.get(match[0])
    return bool(standing is not None and standing.within(match[0]))


def _reason(v: Verification, choice: _Choice | None) -> str:
    seeds = len(v.settings.get("seeds", []))
    budget = (
        f"{len(v.candidates)} rate{'s' * (len(v.candidates) > 1)} x {seeds} "
        f"seed{'s' * (seeds > 1)} from scratch, rungs of {'/'.join(map(str, v.budgets))} steps; "
        f"{v.steps_spent} steps in all, 1/{v.grid_steps / max(v.steps_spent, 1):.0f} of a "
        f"{GRID_RATES}-rate x {GRID_SEEDS}-seed grid search"
    )
    if choice is None:
        return f"interrupted before a rate was chosen ({budget})"
    if v.lr is None:
        return f"every candidate diverged or blew up; try lower rates ({budget})"
    score = "held-out loss" if v.metric == "loss" else "held-out accuracy"
    standing = choice.standing
    best = standing.best() if standing is not None else None
    if best is None or _same_rate(best, v.lr):
        how = f"the best {score} at {choice.decided_at} steps"
        means = standing.means if standing is not None else {}
        close = sorted(lr for lr in means if standing.within(lr) and not _same_rate(lr, v.lr))
        if close:  # the probes could not tell these rates from the chosen one: say so
            rates = ", ".join(f"{lr:.3g}" for lr in close)
            how += f", though {rates} {'was' if len(close) == 1 else 'were'} within the seeds' "
            how += "noise of it"
    elif not standing.within(v.lr):  # a better rate was passed over (the edge, or it blew up)
        how = f"chosen at {choice.decided_at} steps in place of a better rate"
    else:
        how = f"within the seeds' noise of the best ({best:.3g}) at {choice.decided_at} steps"
        stands = v.suggestion is not None and _same_rate(v.lr, v.suggestion)
        how += ", so the suggestion stands" if stands else ", and lower, so safer"
    for lr, why in choice.passed_over:
        how += f"; {lr:.3g} ranked higher, but {why}"
    reached = v.lr_steps
    if reached != choice.decided_at:  # ran on to confirm it, or a stand-in probed from scratch
        how += f"; it {'ran on to' if reached > choice.decided_at else 'trained'} {reached} "
        how += "steps without blowing up"
        if reached < v.budgets[-1]:
            how += f" (not {v.budgets[-1]}: the cost target stopped it there)"
    if v.suggestion is None:
        verdict = (
            "the range test gave no suggestion, so the candidates spanned the top of its range"
        )
    elif v.confirmed is None:
        verdict = "the suggestion was not among the candidates"
    elif v.confirmed:
        verdict = f"this confirms the suggestion {v.suggestion:.3g}"
    elif any(_same_rate(lr, v.suggestion) for lr, _ in choice.passed_over):
        verdict = f"so the suggestion {v.suggestion:.3g} is not confirmed"
    else:
        verdict = (
            f"the suggestion {v.suggestion:.3g} did worse than the best by more than the "
            "seeds' noise"
        )
    return f"{v.lr:.3g}: {how}; {verdict} ({budget})"
