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
# # 1. The learning-rate range test
#
# The learning rate is the one setting you cannot skip. Too small and training crawls; too
# large and the loss jumps around or blows up. The **range test** finds a good value in one
# short run:
#
# 1. start with a tiny learning rate;
# 2. train one mini-batch at a time while the rate grows, step by step;
# 3. record the loss at every step, and stop when it blows up.
#
# At first the rate is too small to change anything and the loss stays flat. Then the loss
# falls, faster and faster. Then it bottoms out, and finally it shoots up. A good learning
# rate lies on the falling part, before the bottom.
#
# This notebook runs the test with plain SGD, first coarsely through five decades of rates,
# then finely through the one decade that matters. It shows how the curve is read, where each
# of the four suggestion rules lands and why, and how much the answer moves between runs.
# It takes well under two minutes on a laptop.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np

from lrfinder import (
    LearningRateSearcher,
    Looper,
    LRFinderError,
    TwoLayerNet,
    find_lr,
    load_dataset,
)
from lrfinder.analysis import METHODS, analyse_curve

# "full" (the default) runs everything; "ci" is the small budget the tests use.
BUDGET = os.environ.get("LRFINDER_NOTEBOOK_BUDGET", "full")
if BUDGET not in ("full", "ci"):
    raise ValueError(f"LRFINDER_NOTEBOOK_BUDGET must be 'full' or 'ci', got {BUDGET!r}")
FULL = BUDGET == "full"
REPEATS = 5 if FULL else 3

# %% [markdown]
# ## The data and the network
#
# We use MNIST (28x28 handwritten digits) when it is on this machine, and otherwise the small
# 8x8 digits set that comes with scikit-learn. The network has one hidden layer of 128 ReLU
# units.


# %%
def load_data():
    """MNIST when its files are on this machine (and the budget is full), else digits."""
    if FULL:
        try:
            return load_dataset("mnist", download=False)
        except LRFinderError:
            print(
                "MNIST is not on this machine, so this notebook uses the 8x8 digits instead.\n"
                "To use MNIST, run load_dataset('mnist') once (it downloads 11 MB), or set\n"
                "LRFINDER_DATA to a folder that has an 'mnist' subfolder with the four files."
            )
    return load_dataset("digits")


data = load_data()
model = TwoLayerNet.for_dataset(data, n_hidden=128)
print(f"{data.name}: {len(data.x_train)} training images of {data.n_features} pixels")
print(model)

# %% [markdown]
# ## A coarse sweep through the decades
#
# `Looper(start, step, iterations)` is one segment of the schedule: the rates
# `start, start + step, start + 2*step, ...` up to ten times `start`, each held for
# `iterations` training steps. With `start = step = 1e-4` it walks 1e-4, 2e-4, ..., 1e-3:
# one decade in ten rates. A `LearningRateSearcher` chains segments, so five of them sweep
# from 1e-4 to 10. (Where one segment ends on the rate the next one starts with, that rate is
# played only once.)

# %%
DECADES = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
STEPS_PER_RATE = 10

coarse = LearningRateSearcher([Looper(d, d, STEPS_PER_RATE) for d in DECADES])
print(coarse)
print(f"{len(coarse)} training steps at most")

fig, ax = plt.subplots(figsize=(8, 2.8))
ax.step(np.arange(len(coarse)), coarse.steps(), where="post")
ax.set_yscale("log")
ax.set(xlabel="training step", ylabel="learning rate", title="The coarse schedule")
ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# Now the test itself. `find_lr` trains the network through this schedule and stops early
# when the loss climbs well above its best value. Afterwards it puts the weights back exactly
# as they were, so the test leaves the model untouched.

# %%
result = find_lr(model, data, optimizer="sgd", schedule=coarse)
print(result.stop_reason)
print(f"suggested learning rate: {result.suggestion:.3g}")

# %% [markdown]
# ## Reading the curve
#
# The raw losses are noisy: every step sees a different mini-batch. Before reading anything,
# `analyse_curve`
#
# * takes the median of the steps at each rate (one bad batch cannot move it),
# * replaces isolated spikes by the median of their neighbours,
# * smooths with a *centred* window half a decade wide in log10(lr). The usual running average
#   lags behind and drags every feature of the curve to higher rates; a centred window does not.
#
# It also returns the **slope**, d loss / d log10(lr): how much the loss changes when the rate
# grows ten-fold. We plot against log10(lr) because learning rates matter by their factor:
# 0.001 to 0.01 is as big a move as 0.1 to 1.
#
# The analysis marks four landmarks: where the fall **starts**, where it is **steepest** (the
# lowest point of the slope), the **minimum** of the smoothed loss, and where the loss
# **diverges** (has climbed back up by half of its drop), if the run got that far.

# %%
curve = analyse_curve(result.lrs, result.losses)
marks = result.analysis.landmarks
x = np.log10(curve.lrs)

fig, (top, bottom) = plt.subplots(
    2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]}
)
top.plot(np.log10(result.lrs), result.losses, ".", ms=3, color="0.7", label="loss at each step")
top.plot(x, curve.raw, "o", ms=4, color="tab:blue", alpha=0.5, label="median at each rate")
top.plot(x, curve.smooth, color="tab:blue", lw=2.5, label="smoothed")
bottom.plot(x, curve.slope, color="tab:blue", lw=2)
bottom.axhline(0, color="0.5", lw=0.8)

landmark_colors = {
    "fall_start": "tab:gray",
    "steepest": "tab:orange",
    "minimum": "tab:purple",
    "divergence": "tab:red",
}
for name, color in landmark_colors.items():
    lr = getattr(marks, name)
    if lr is None:
        continue
    for ax in (top, bottom):
        ax.axvline(np.log10(lr), color=color, ls="--", lw=1.3)
    top.plot([], [], color=color, ls="--", label=f"{name.replace('_', ' ')}: {lr:.2g}")

top.set_ylim(0.9 * np.nanmin(curve.raw), 1.15 * curve.smooth[0])
top.set(ylabel="training loss", title=f"Range test, SGD on {data.name}")
top.legend(loc="lower left", fontsize=9)
bottom.set(xlabel="log10(learning rate)", ylabel="d loss / d log10(lr)")
for ax in (top, bottom):
    ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# ## Where each rule lands, and why
#
# There is no single right way to turn a curve into one number. lrfinder offers four rules:
#
# | rule | picks |
# | --- | --- |
# | `steepest` | where the smoothed loss falls fastest |
# | `minimum` | one tenth of the rate at the minimum |
# | `valley` | fastai's rule: halfway along the longest stretch of falling loss |
# | `auto` | the default: the middle of the good region, below the minimum |
#
# The steepest point learns fastest *at that moment*; the minimum is the edge of stability,
# just before the loss turns up. Between the two the curve flattens into its bottom, and
# exactly where in a flat bottom the lowest point falls is decided by noise. So `auto` reads
# the whole bottom: it weighs every rate by how close its smoothed loss comes to the bottom,
# and takes the rate below which half of that weight lies, the middle of the good region.
# A short dip just before the blow-up weighs only as much as it is wide, so it cannot drag
# the answer up. With momentum or Adam the loss answers each rate a few steps late, so the
# curve looks shifted to higher rates; `auto` reads its rate back by that lag. Every
# suggestion comes with its reason in words:

# %%
for method in METHODS:
    s = result.suggest(method)
    print(f"{method:>8}: {s.lr:.3g}\n          {s.reason}\n")

# %% [markdown]
# `result.plot()` draws all of this in one figure: the raw and smoothed loss on a log axis,
# each rule's suggestion, the band of good rates, the diverging tail, and the slope below.

# %%
result.plot(title=f"Coarse sweep, SGD on {data.name}")

# %% [markdown]
# ## Zooming in on the interesting decade
#
# Ten rates per decade is coarse: the suggestion can only be as precise as the grid. The
# classic tutorial this library grew from swept the decades like this and then zoomed in with
# a fine, linear segment on the decade where the loss fell best, which gave about 0.7 for its
# network. We do the same, for the decade that holds the coarse suggestion.
#
# One thing to keep fair: the loss at a given rate also depends on how much training came
# before it. So the zoomed run keeps the coarse segments *below* the interesting decade
# (same start, same batches, same network on arrival), replaces that decade by a fine linear
# segment of 91 rates, one step each (about as many steps as the coarse sweep spent there),
# and then goes on coarsely, so we still see where the loss blows up.

# %%
decade = 10.0 ** np.floor(np.log10(result.suggestion))
fine = LearningRateSearcher([Looper(d, d, STEPS_PER_RATE) for d in DECADES if d < decade])
fine.add(Looper(decade, decade / 10, 1, decade * 10))  # decade, 1.1*decade, ..., 10*decade
for d in DECADES:
    if d > decade:
        fine.add(Looper(d, d, STEPS_PER_RATE))
print(f"zooming in on [{decade:g}, {10 * decade:g}]: {len(fine)} steps at most")

zoomed = find_lr(model, data, optimizer="sgd", schedule=fine)
print(zoomed.stop_reason)
for method in METHODS:
    before, after = result.suggest(method).lr, zoomed.suggest(method).lr
    print(f"{method:>8}: coarse {before:.3g}  ->  zoomed {after:.3g}")

# %%
zoomed.plot(title=f"Zoomed on [{decade:g}, {10 * decade:g}], SGD on {data.name}")

# %% [markdown]
# The tutorial's other way to zoom is a *second run*: a fine linear sweep from fresh weights
# over the rates the first run found good. `find_lr(..., zoom=result)` does that: 200 rates
# from the low edge of the first run's band up to its lowest loss (the model is restored
# after every test, so the second run starts from the same initial weights).

# %%
second = find_lr(model, data, optimizer="sgd", zoom=result)
print(second.settings["schedule"])
print(f"auto: coarse {result.suggestion:.3g}  ->  second run {second.suggestion:.3g}")

# %% [markdown]
# The zoomed curve has ten times more points in the decade that matters, so the smoothing has
# more to work with there and the rules can land between the coarse grid points. The rules
# that read the shape of the smoothed curve (`auto`, `steepest`, `minimum`) should move by a
# factor of two or less. `valley` can jump much further: it follows the longest unbroken run
# of falling loss, and on a fine grid a little noise is enough to break such a run. A rule
# that moves that much with the grid is a rule to trust less, which brings us to repeats.

# %% [markdown]
# ## How sure are we? Repeats
#
# One run is one draw: other initial weights and another batch order give another curve.
# `repeats=N` runs the test N times, each with new weights and a new batch order. The
# analysis reads the median curve, and also applies the same rule to each run on its own.
# The spread of those per-run suggestions, in decades, is an honest error bar.

# %%
repeated = find_lr(model, data, optimizer="sgd", schedule=coarse, repeats=REPEATS)
a = repeated.analysis.suggestion
print(f"median curve suggests {a.lr:.3g}")
print("each run suggests     " + ", ".join(f"{lr:.3g}" for lr in a.run_lrs if lr is not None))
print(f"spread: {a.spread_decades:.2f} decades (a factor of {10**a.spread_decades:.1f})")

# %%
repeated.plot(methods="auto", title=f"{REPEATS} repeats, SGD on {data.name}")

# %% [markdown]
# The rules are not equally steady. Each dot below is one run's suggestion; the further a
# rule's dots spread, the less a single run of it can be trusted.

# %%
fig, ax = plt.subplots(figsize=(8, 3))
for row, method in enumerate(METHODS):
    s = repeated.suggest(method)
    runs = [lr for lr in s.run_lrs if lr is not None]
    ax.plot(runs, [row] * len(runs), "o", ms=8, alpha=0.6)
    if s.lr is not None:
        ax.plot([s.lr], [row], "k|", ms=22, mew=2)
ax.set_xscale("log")
ax.set_yticks(range(len(METHODS)), METHODS)
ax.set_ylim(len(METHODS) - 0.4, -0.6)  # first rule on top
ax.set(xlabel="suggested learning rate", title="One dot per run; black bar: the median curve")
ax.grid(True, axis="x", which="both", alpha=0.3)
plt.show()

# %% [markdown]
# ## What to take away
#
# * The range test costs a few hundred training steps, far less than one training run.
# * Read it on a log10 axis. Good rates lie on the falling part, between the steepest point
#   and the minimum; never at the minimum itself, which is the edge of blowing up.
# * A coarse sweep finds the decade; a fine segment places the rate within it.
# * Repeat the test to see how far the answer moves. If it moves by a decade, no single
#   number is reliable, and a rate from the lower end of the band is the safe choice.
#
# The next notebook trains with the rate we found, next to rates that are too small and too
# large, and repeats the test for all six optimizers.
