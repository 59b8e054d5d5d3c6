# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. How the optimizers move
#
# A network has thousands of weights, far too many to draw. But the optimizers do not know
# that: they only see a gradient and update numbers. So we can watch them on a function of
# just two numbers, where every step can be drawn.
#
# The function is a long, narrow bowl:
#
# $$f(x, y) = \frac{x^2}{20} + y^2, \qquad \nabla f = \left(\frac{x}{10},\ 2y\right).$$
#
# It is twenty times steeper across (in $y$) than along (in $x$). Such valleys are common in
# real networks and are exactly what makes plain gradient descent slow: the gradient points
# mostly across the valley, not along it towards the minimum at $(0, 0)$.
#
# The second half shows why a learning rate that shrinks over time helps once the gradients
# are noisy, as they always are with mini-batches.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np

from lrfinder import (
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    Momentum,
    RMSProp,
    TwoLayerNet,
    find_lr,
    load_dataset,
    plot_histories,
    train,
)
from lrfinder.training import steps_per_epoch

BUDGET = os.environ.get("LRFINDER_NOTEBOOK_BUDGET", "full")
if BUDGET not in ("full", "ci"):
    raise ValueError(f"LRFINDER_NOTEBOOK_BUDGET must be 'full' or 'ci', got {BUDGET!r}")
FULL = BUDGET == "full"

CURVATURE = np.array([1 / 10, 2.0])  # f = (x^2 / 10 + 2 y^2) / 2, so grad f = CURVATURE * (x, y)
START = np.array([-7.0, 2.0])


def f(xy):
    """The bowl, for any array whose last axis holds (x, y)."""
    return 0.5 * np.sum(CURVATURE * xy**2, axis=-1)


def grad(xy):
    return CURVATURE * xy


def draw_bowl(ax):
    xs, ys = np.meshgrid(np.linspace(-8, 8, 300), np.linspace(-3, 3, 200))
    ax.contour(
        xs,
        ys,
        f(np.stack([xs, ys], axis=-1)),
        levels=np.geomspace(0.02, 8, 12),
        colors="0.75",
        linewidths=0.8,
    )
    ax.plot(0, 0, "+", color="black", ms=12, mew=2)
    ax.set(xlim=(-8, 8), ylim=(-3, 3), aspect="equal")


# %% [markdown]
# ## The same update code the range test uses
#
# Each optimizer in lrfinder has one method, `opt.step(params, grads, lr)`: it takes a dict of
# arrays and their gradients and updates the arrays in place. Here the "network" is one array
# `{"xy": [x, y]}` and the gradient is the formula above.


# %%
def path(optimizer, lr, steps=30):
    """The points the optimizer visits, starting at START, as an array of shape (steps+1, 2)."""
    params = {"xy": START.copy()}
    points = [params["xy"].copy()]
    for _ in range(steps):
        optimizer.step(params, {"xy": grad(params["xy"])}, lr)
        points.append(params["xy"].copy())
    return np.array(points)


# Learning rates hand-picked for this picture, to show each optimizer's character;
# they are not what a range test would choose for a network.
CONTENDERS = {
    "SGD": (SGD(), 0.95),
    "Momentum": (Momentum(gamma=0.9), 0.1),
    "AdaGrad": (AdaGrad(), 1.5),
    "RMSProp": (RMSProp(rho=0.99), 0.1),
    "Adadelta": (Adadelta(rho=0.9, eps=1e-2), 1.0),
    "Adam": (Adam(), 0.3),
}

fig, axes = plt.subplots(3, 2, figsize=(11, 8.5), layout="constrained")
for ax, (name, (optimizer, lr)) in zip(axes.flat, CONTENDERS.items(), strict=True):
    points = path(optimizer, lr)
    draw_bowl(ax)
    ax.plot(points[:, 0], points[:, 1], "o-", color="tab:red", ms=3.5, lw=1.2)
    ax.plot(*START, "s", color="black", ms=6)
    ax.set_title(f"{name} (lr {lr:g}): f = {f(points[-1]):.2g} after 30 steps", fontsize=10)
fig.suptitle("30 steps on f(x, y) = x\u00b2/20 + y\u00b2 from (-7, 2)", fontweight="bold")
plt.show()

# %% [markdown]
# What each picture shows:
#
# * **SGD** steps along the gradient. With a rate large enough to make progress along $x$,
#   it overshoots across the steep $y$ direction and zig-zags. Any larger and the zig-zag
#   grows instead of shrinking: the largest stable rate is set by the *steepest* direction.
# * **Momentum** adds up past steps like a rolling ball. Across the valley the pushes cancel;
#   along it they add up, so it picks up speed towards the minimum and overshoots a little.
# * **AdaGrad** divides each coordinate's step by the size of all its past gradients. The steep
#   $y$ direction is tamed at once, and it heads straight along the valley, but its steps keep
#   shrinking because the sum of past gradients only grows.
# * **RMSProp** divides by a *recent* average instead, so its steps do not die out. Its first
#   step is large: the average starts at zero, and unlike Adam it does not correct for that,
#   so its first steps are up to $1/\sqrt{1-\rho} = 10$ times its settled ones. A range test
#   only sees settled steps, which is why lrfinder's `auto` keeps RMSProp ten times below the
#   rate where its test diverged.
# * **Adadelta** measures steps in units of its own past steps, so it needs no real learning
#   rate (lr = 1 here). It starts with steps of about $\sqrt{\epsilon}$: with the default
#   $\epsilon = 10^{-6}$ it would hardly move in 30 steps (see below), so this picture uses
#   $\epsilon = 0.01$.
# * **Adam** combines momentum with RMSProp's scaling (and corrects both for starting at zero).
#   It moves at about the same speed in both directions and then rolls past the minimum, as
#   momentum does.

# %%
slow = path(Adadelta(), 1.0)
print(f"Adadelta with the default eps=1e-6 moves from {START} to {slow[-1].round(3)} in 30 steps")

# %% [markdown]
# ## Why the learning rate should shrink: noisy gradients
#
# A mini-batch gradient is the true gradient plus noise. Take the same bowl and add noise to
# every gradient. With a constant learning rate the steps never shrink, so even at the
# minimum the noise keeps kicking the point around: it settles into a **noise ball** whose
# size grows with the rate, and stays there.
#
# The classic fix (Robbins and Monro, 1951) is a learning rate $\eta_t$ that shrinks with the
# step $t$ such that
#
# $$\sum_t \eta_t = \infty \qquad\text{and}\qquad \sum_t \eta_t^2 < \infty.$$
#
# * $\sum \eta_t = \infty$: the steps add up to an unlimited distance, so the minimum can be
#   reached from anywhere.
# * $\sum \eta_t^2 < \infty$: the noise each step adds has a size proportional to $\eta_t$, so
#   its total variance is proportional to $\sum \eta_t^2$. If that is finite, the kicks die out.
#
# $\eta_t = \eta_0 \frac{\tau}{\tau + t}$ (about $1/t$) meets both. A constant rate fails the
# second; $\eta_t \propto 1/t^2$ passes the second but fails the first: it stops moving
# before it gets there. We run all three, each from the same start, many times over, with SGD
# and noise of standard deviation 1 on each gradient component.

# %%
ETA, TAU = 0.5, 40
SCHEDULES = {
    "constant": lambda t: ETA,
    "1/t decay": lambda t: ETA * TAU / (TAU + t),
    "1/t\u00b2 decay": lambda t: ETA * (TAU / (TAU + t)) ** 2,
}
STEPS = 3000 if FULL else 1000
RUNS = 200 if FULL else 50
NOISE = 1.0


def noisy_sgd(schedule, seed=0):
    """RUNS independent runs of SGD at once: one row of params["xy"] per run.

    SGD updates every number on its own, so a (RUNS, 2) array is RUNS separate 2-D problems.
    Returns the mean of f over the runs at every step, and the final points.
    """
    rng = np.random.default_rng(seed)
    params = {"xy": np.tile(START, (RUNS, 1))}
    optimizer = SGD()
    mean_f = [f(params["xy"]).mean()]
    for t in range(STEPS):
        noisy = grad(params["xy"]) + NOISE * rng.standard_normal((RUNS, 2))
        optimizer.step(params, {"xy": noisy}, schedule(t))
        mean_f.append(f(params["xy"]).mean())
    return np.array(mean_f), params["xy"].copy()


runs = {name: noisy_sgd(schedule) for name, schedule in SCHEDULES.items()}
for name, (mean_f, _) in runs.items():
    print(f"{name:>12}: mean f after {STEPS} steps = {mean_f[-1]:.4f}")

# %%
fig = plt.figure(figsize=(13, 7.5), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1])
loss_ax, sums_ax = left.subplots(2, 1, gridspec_kw={"height_ratios": [2, 1]})
t = np.arange(STEPS + 1)
for name, (mean_f, _) in runs.items():
    loss_ax.plot(t + 1, mean_f, lw=2, label=name)
loss_ax.set(
    xscale="log",
    yscale="log",
    ylabel=f"mean f over {RUNS} runs",
    title="How far from the minimum (lower is better)",
)
loss_ax.legend()

lrs = {name: np.array([schedule(k) for k in t]) for name, schedule in SCHEDULES.items()}
for lr in lrs.values():
    (line,) = sums_ax.plot(t + 1, np.cumsum(lr), lw=2)
    sums_ax.plot(t + 1, np.cumsum(lr**2), lw=1.5, ls="--", color=line.get_color())
sums_ax.set(
    xscale="log",
    yscale="log",
    xlabel="step",
    title="Running sums: lr (solid) and lr\u00b2 (dashed)",
)
for ax in (loss_ax, sums_ax):
    ax.grid(True, which="major", alpha=0.3)

ball_axes = right.subplots(3, 1)
for ax, (name, (_, final)) in zip(ball_axes, runs.items(), strict=True):
    draw_bowl(ax)
    ax.plot(final[:, 0], final[:, 1], ".", color="tab:red", ms=4, alpha=0.6)
    ax.set_title(f"{name}: where the {RUNS} runs are after {STEPS} steps", fontsize=10)
plt.show()

# %% [markdown]
# Reading the pictures:
#
# * **Constant**: fast at first, then flat. The runs are spread over a noise ball around the
#   minimum; more steps do not shrink it. Only a smaller rate would, and a smaller rate is slower
#   at the start.
# * **1/t decay**: as fast as the constant rate at the start, and then it keeps improving; the
#   ball shrinks towards the minimum. Its running sum of lr grows without end (slowly, like
#   log t), while the sum of lr² levels off.
# * **1/t² decay**: the noise dies out (the runs lie close together), but the sum of lr levels
#   off too: the steps run out before the slow $x$ direction reaches the minimum, so the runs
#   stop short, at the left of the bowl.
#
# In practice people train at the rate the range test found and then lower it: in steps,
# along a cosine, or about as 1/t. `lrfinder.train` takes any function of the step as `lr`,
# for example `lr=lambda step: lr0 * tau / (tau + step)`.

# %% [markdown]
# ## Training at the found rate: constant, 1cycle or cosine
#
# Back to a real network. A range test reports more than one number:
#
# * `lr`, the `auto` suggestion: a *constant* rate that trains well from the first step
#   to the last;
# * `base_lr` and `max_lr`: the bounds of Smith's cyclical schedule (2017), from where the
#   loss starts to fall to where it is lowest;
# * `one_cycle_max_lr`: the *peak* of a 1cycle schedule (Smith, 2018), half a decade below the
#   rate at the lowest loss. It is higher than `lr`, because 1cycle only gets there after a
#   warm-up and leaves again at once.
#
# 1cycle climbs along a cosine from `one_cycle_max_lr / 25` to the peak in the first 30% of
# the steps, then falls along a cosine to almost zero. The cosine schedule starts at `lr` and
# falls to zero. Both end with tiny steps, which is the lesson of the noise ball above: the
# last steps at a small rate let the weights settle instead of bouncing around the minimum.
#
# The suggestion builds each schedule from its own numbers; all it needs is the number of
# training steps. We train the same network, from the same initial weights and with the same
# batches, three ways.

# %%
data = load_dataset("digits")
EPOCHS = 10 if FULL else 3
total_steps = EPOCHS * steps_per_epoch(data, batch_size=64)

network = TwoLayerNet.for_dataset(data, 128, seed=0)
initial = network.state_dict()
suggestion = find_lr(network, data, optimizer="adam").suggest("auto")
print(f"lr {suggestion.lr:.3g}, one_cycle_max_lr {suggestion.one_cycle_max_lr:.3g}")
print(suggestion.train_with(total_steps))

trained = {}
for kind in ("constant", "onecycle", "cosine"):
    network.load_state_dict(initial)  # the same start for every schedule
    rate = suggestion.schedule(kind, total_steps)  # a float for "constant"
    trained[kind] = train(network, data, optimizer="adam", lr=rate, epochs=EPOCHS, eval_every=11)
    print(f"{kind:>9}: {trained[kind].lr}  final accuracy {trained[kind].final_accuracy:.3f}")

plot_histories(trained)
plt.show()

# %% [markdown]
# The bottom panel shows the rate each step used (log scale); the panels above show what it
# did. 1cycle starts slowly, during its warm-up, then spends the middle of the run above the
# constant rate and the end at a tiny one; the cosine gives up speed early for quiet at the
# end. On digits the three end within about a point of each other, and which one comes out
# ahead changes from seed to seed: one run says little.
#
# `benchmarks/schedules.py` measures them over five seeds and all six optimizers. With Adam,
# 1cycle at `one_cycle_max_lr` beat the constant rate on digits (20 epochs: 97.7% against
# 97.4%; the cosine, 97.9%, was a little ahead of both) and on MNIST (one epoch: 96.9%
# against 96.2%), and the best of the three matched or beat Prodigy, an optimizer that needs
# no learning rate, on every dataset tried. It is not a rule of nature: on the
# two-dimensional `spiral` the 1cycle peak was sometimes too high, and the constant rate did
# better. Train with `suggestion.one_cycle(total_steps)`,
# and when in doubt, compare it with the constant `suggestion.lr`, as here.
