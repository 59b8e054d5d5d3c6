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
# # 2. The learning rate and the six optimizers
#
# The first notebook found a learning rate. Is it any good? Here we train with it, next to a
# rate that is too small and one that is too large. Then we do the same for six optimizers,
# SGD, Momentum, AdaGrad, RMSProp, Adadelta and Adam, each at the rate its own range test
# found, and count the steps each needs to reach 91% validation accuracy.
#
# Every run starts from the same initial weights and sees the same batches, so the only
# difference between runs is the learning rate or the optimizer.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt

from lrfinder import OPTIMIZERS, LRFinderError, TwoLayerNet, find_lr, load_dataset, train
from lrfinder.plotting import plot_histories, plot_result

BUDGET = os.environ.get("LRFINDER_NOTEBOOK_BUDGET", "full")
if BUDGET not in ("full", "ci"):
    raise ValueError(f"LRFINDER_NOTEBOOK_BUDGET must be 'full' or 'ci', got {BUDGET!r}")
FULL = BUDGET == "full"

TARGET = 0.91  # validation accuracy to reach
SEED = 0  # initial weights and batch order, the same for every run

# %% [markdown]
# ## The data
#
# MNIST when it is on this machine, otherwise the small 8x8 digits set. An epoch is one pass
# over the training images. MNIST has 60,000 of them, so one epoch is plenty here; digits
# has only about 1,400, so it gets more epochs.


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
if data.name == "mnist":
    EPOCHS, EVAL_EVERY = 1, 25
else:
    EPOCHS, EVAL_EVERY = (12 if FULL else 6), 5


def new_model():
    """The same network with the same initial weights, every time."""
    return TwoLayerNet.for_dataset(data, n_hidden=128, seed=SEED)


print(f"{data.name}: {len(data.x_train)} training and {len(data.x_test)} validation images")
print(f"training for {EPOCHS} epoch(s), scoring the validation set every {EVAL_EVERY} steps")

# %% [markdown]
# ## Plain SGD: too small, too large, and found
#
# First the range test for SGD, with the default schedule (200 rates spaced evenly in
# log10(lr) from 1e-7 to 10).

# %%
sgd_test = find_lr(new_model(), data, optimizer="sgd", seed=SEED)
found = sgd_test.suggestion
print(f"SGD: the range test suggests lr = {found:.3g}")
print(sgd_test.analysis.reason)
plot_result(sgd_test, methods="auto", title=f"Range test, SGD on {data.name}")

# %% [markdown]
# Now three training runs: a hundred times smaller than the found rate, the found rate, and
# thirty times larger.

# %%
rates = {"too small": found / 100, "found": found, "too large": found * 30}
sgd_runs, step_losses = {}, {}
for label, lr in rates.items():
    losses = step_losses[label] = []  # the training loss of every step, via the callback
    sgd_runs[label] = h = train(
        new_model(),
        data,
        optimizer="sgd",
        lr=lr,
        epochs=EPOCHS,
        seed=SEED,
        eval_every=EVAL_EVERY,
        callback=lambda step, loss, out=losses: out.append(loss),
    )
    status = f"diverged at step {len(losses) + 1}" if h.diverged else "finished"
    print(f"{label:>9}  lr = {lr:<8.3g} {status}, {h.final_accuracy:.1%} validation accuracy")

# %%
top = 1.15 * sgd_runs["found"].val_loss[0]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True, sharey=True, layout="constrained")
for ax, (label, h) in zip(axes, sgd_runs.items(), strict=True):
    losses = step_losses[label]
    ax.plot(range(1, len(losses) + 1), losses, color="0.6", lw=0.8, label="training loss")
    ax.plot(h.steps, h.val_loss, color="tab:blue", lw=2.2, label="validation loss")
    if h.diverged:
        ax.plot(len(losses) + 1, top, "rx", ms=14, mew=3, clip_on=False, label="blew up")
    ax.set(title=f"{label}: lr = {h.lr:.3g}", xlabel="training step", ylim=(0, top))
    ax.text(0.97, 0.92, f"accuracy {h.final_accuracy:.1%}", transform=ax.transAxes, ha="right")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center right")
axes[0].set_ylabel("loss")
fig.suptitle(f"Plain SGD on {data.name} at three learning rates", fontweight="bold")
plt.show()

# %% [markdown]
# What to look for:
#
# * **Too small**: the loss creeps down. Nothing is wrong, it is just slow; training for
#   longer would get there, at a price.
# * **Too large**: every step overshoots the bottom of the valley and lands higher up the
#   other side, so the next step is larger still. Within a few steps the loss is infinite,
#   training stops, and a red cross marks the spot.
# * **Found**: the loss falls quickly and keeps falling.
#
# The found rate is not a sharp optimum: a few times larger often still trains well (try it).
# What the range test tells you is where the good region lies and where the cliff is.
#
# One short range test, a few hundred steps, saved us from both mistakes.

# %% [markdown]
# ## Six optimizers, each at its own rate
#
# Each optimizer scales its steps differently, so each has its own good learning rate: Adam
# and RMSProp divide by a running size of the gradient and want small rates; Adadelta
# measures its steps in units of its own past steps and wants a rate near 1. Comparing them
# all at one shared rate would mostly compare how well that rate suits each of them. So every
# optimizer gets its own range test first.

# %%
tests, histories = {}, {}
for name in OPTIMIZERS:
    tests[name] = find_lr(new_model(), data, optimizer=name, seed=SEED)
    lr = tests[name].suggestion
    if lr is None:
        print(f"{name:>9}: no suggestion ({tests[name].analysis.reason})")
        continue
    histories[name] = train(
        new_model(), data, optimizer=name, lr=lr, epochs=EPOCHS, seed=SEED, eval_every=EVAL_EVERY
    )
    print(f"{name:>9}: lr = {lr:.3g}")

# %% [markdown]
# The six range tests side by side. The curves have much the same shape, but they sit in
# different decades.

# %%
fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharey=True, layout="constrained")
for ax, (name, result) in zip(axes.flat, tests.items(), strict=True):
    plot_result(result, ax=ax, methods="auto", title=name)
    ax.legend(fontsize=7, loc="lower left")
plt.show()

# %% [markdown]
# Now the training runs, each at its found rate: validation accuracy on top, loss below. The
# dotted line is the 91% target; the legend says at which step each optimizer first reached it.

# %%
plot_histories(histories, target=TARGET)

# %%
print(f"{'optimizer':>9}  {'lr':>8}  {'steps to ' + format(TARGET, '.0%'):>12}  final accuracy")
for name, h in sorted(
    histories.items(), key=lambda item: item[1].steps_to_accuracy(TARGET) or float("inf")
):
    steps = h.steps_to_accuracy(TARGET)
    reached = "not reached" if steps is None else str(steps)
    print(f"{name:>9}  {h.lr:>8.3g}  {reached:>12}  {h.final_accuracy:.1%}")

# %% [markdown]
# ## Reading this fairly
#
# * Every optimizer got a fair start: its own rate, found the same way, in a few hundred steps.
#   Without that, a comparison mostly measures which optimizer likes the one rate you chose.
# * The adaptive methods (AdaGrad, RMSProp, Adam) usually reach the target first: they give
#   each weight its own step size. Momentum helps SGD along directions where the gradient keeps
#   pointing the same way.
# * This is one seed on one small network. Differences of a few evaluation intervals are
#   noise; run it with another `SEED` and some of the places will swap.
#
# The third notebook looks inside: how each optimizer moves on a simple two-dimensional bowl,
# and why a learning rate that shrinks over time helps in the end.
