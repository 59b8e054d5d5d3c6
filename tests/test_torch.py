"""lrfinder.torch: the range test on a PyTorch model, with the NumPy test's semantics.

Tiny models on digits (a 64-32-10 MLP, a small CNN) and a few hundred steps at most,
so the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (pip install 'lrfinder[torch]')"
)

import lrfinder.torch as lt  # noqa: E402

torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair to a busy CI box
from lrfinder import (  # noqa: E402
    LearningRateSearcher,
    Looper,
    RangeTestInterrupted,
    RangeTestResult,
    load_dataset,
    load_result,
)
from lrfinder.analysis import median_over_runs  # noqa: E402
from lrfinder.errors import LRFinderError  # noqa: E402
from lrfinder.rangetest import COMPLETED, default_schedule  # noqa: E402
from lrfinder.stopping import DivergenceStop  # noqa: E402

SHORT = LearningRateSearcher.exponential(1e-4, 1.0, 60)


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    x = torch.from_numpy(data.x_train.astype(np.float32) * np.float32(data.x_scale))
    y = torch.from_numpy(data.y_train.astype(np.int64))
    return x, y


@pytest.fixture
def loader(digits):
    dataset = torch.utils.data.TensorDataset(*digits)
    return torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)


def mlp(seed: int = 0, *, dropout: bool = False):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(64, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU()]
    if dropout:
        layers.append(torch.nn.Dropout(0.2))
    return torch.nn.Sequential(*layers, torch.nn.Linear(32, 10))


CE = torch.nn.CrossEntropyLoss()


def snapshot(model, optimizer):
    """Everything that must come back bitwise, as plain copies."""
    return {
        "model": copy.deepcopy(model.state_dict()),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "training": [m.training for m in model.modules()],
        "rng": torch.get_rng_state(),
    }


def same(a, b) -> bool:
    """Bitwise equality of nested dicts/lists of tensors and plain values."""
    if isinstance(a, torch.Tensor):
        return (
            isinstance(b, torch.Tensor)
            and (a.dtype, a.shape) == (b.dtype, b.shape)
            and a.numpy().tobytes() == b.numpy().tobytes()
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def warmed(optimizer_cls, loader, **kwargs):
    """A model and optimizer with non-empty state and gradients, in eval mode."""
    model = mlp(dropout=True)
    optimizer = optimizer_cls(model.parameters(), **kwargs)
    for (x, y), _ in zip(loader, range(3), strict=False):
        optimizer.zero_grad()
        CE(model(x), y).backward()
        optimizer.step()
    CE(model(x), y).backward()  # leave gradients behind
    model.eval()
    return model, optimizer


OPTIMIZERS = [
    (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (torch.optim.Adam, dict(lr=1e-3)),
    (torch.optim.RMSprop, dict(lr=1e-3)),
]


def test_import_lrfinder_does_not_import_torch_or_keras():
    code = (
        "import sys, lrfinder; from lrfinder import find_lr, RangeTestResult; "
        "print(sorted(m for m in ('torch', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "optimizer_cls, kwargs", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", "")
)
def test_everything_is_restored_bitwise_after_the_test(loader, optimizer_cls, kwargs):
    model, optimizer = warmed(optimizer_cls, loader, **kwargs)
    before = snapshot(model, optimizer)
    result = lt.find_lr(model, loader, optimizer, CE, schedule=SHORT, repeats=2)
    assert len(result.lrs) > 20
    assert same(snapshot(model, optimizer), before)


def test_ctrl_c_restores_bitwise_and_carries_the_partial_result(loader):
    model, optimizer = warmed(torch.optim.Adam, loader, lr=1e-3)
    before = snapshot(model, optimizer)

    def interrupt(event):
        if event.step == 10:
            raise KeyboardInterrupt

    with pytest.raises(RangeTestInterrupted) as info:
        lt.find_lr(model, loader, optimizer, CE, schedule=SHORT, callback=interrupt)
    partial = info.value.result
    assert partial.stop_reason.startswith("interrupted at lr=")
    assert 10 <= len(partial.lrs) <= 11
    assert same(snapshot(model, optimizer), before)


def test_raw_losses_are_those_of_a_hand_written_loop(loader):
    # the same seed, schedule and batches: a bare torch loop records the same bits
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.SGD(model.parameters(), lr=1.0), CE, seed=3)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    torch.manual_seed(3)
    batches = iter(loader)
    losses = []
    for lr in default_schedule().steps()[: len(result.lrs)]:
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        optimizer.param_groups[0]["lr"] = float(lr)
        optimizer.zero_grad(set_to_none=True)
        loss = CE(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.array_equal(result.losses, np.array(losses))


def test_the_numpy_tests_schedule_and_stop_rule_and_reason(loader):
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.SGD(model.parameters(), lr=1.0), CE)
    assert np.array_equal(result.lrs, default_schedule().steps()[: len(result.lrs)])
    assert result.stop_reason.startswith("loss diverged at lr=")  # SGD blows up below 10
    stop = DivergenceStop()
    reasons = [
        stop.update(x, lr=lr, step=i)
        for i, (lr, x) in enumerate(zip(result.lrs, result.losses, strict=True))
    ]
    assert reasons[-1] == result.stop_reason and not any(reasons[:-1])
    assert result.suggestion is not None
    assert result.settings["framework"] == "torch"
    assert result.settings["optimizer"] == "torch.optim.SGD"


def test_a_completed_schedule_and_a_custom_looper_schedule(loader):
    schedule = LearningRateSearcher([Looper(1e-4, 1e-4, 5, 5e-4)])
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE, schedule=schedule)
    assert result.stop_reason == COMPLETED
    assert np.array_equal(result.lrs, schedule.steps())


def test_param_groups_keep_their_ratio_to_the_first_group(loader):
    model = mlp()
    head, body = list(model[-1].parameters()), list(model[:-1].parameters())
    optimizer = torch.optim.SGD([{"params": head, "lr": 1e-2}, {"params": body, "lr": 1e-3}])
    seen = []
    lt.find_lr(
        model,
        loader,
        optimizer,
        CE,
        schedule=SHORT,
        callback=lambda event: seen.append([g["lr"] for g in optimizer.param_groups]),
    )
    seen = np.array(seen)
    assert np.allclose(seen[:, 0], SHORT.steps()[: len(seen)], rtol=0, atol=0)
    assert np.allclose(seen[:, 1] / seen[:, 0], 0.1, rtol=1e-12)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-2, 1e-3]  # restored


class Counting:
    """A loader of ``n`` fixed batches that counts the batches it hands out."""

    def __init__(self, x, y, n: int, batch: int = 32):
        self.batches = [
            (x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(n)
        ]
        self.handed = 0

    def __iter__(self):
        for batch in self.batches:
            self.handed += 1
            yield batch


def test_accumulation_records_the_mean_loss_of_its_batches(digits):
    x, y = digits
    loader = Counting(x, y, n=4)
    schedule = LearningRateSearcher([Looper(1e-3, 1e-3, 6, 1e-3)])
    model = mlp()
    before = copy.deepcopy(model.state_dict())
    result = lt.find_lr(
        model,
        loader,
        torch.optim.SGD(model.parameters(), lr=1.0),
        CE,
        schedule=schedule,
        accumulation_steps=2,
    )
    assert loader.handed == 12  # two batches a step; the 4-batch loader is iterated three times
    # the first step's loss is the mean of the first two batches' losses, before any step
    fresh = mlp()
    fresh.load_state_dict(before)
    first = [CE(fresh(bx), by).item() for bx, by in loader.batches[:2]]
    assert result.losses[0] == pytest.approx(np.mean(first), rel=1e-6)


def test_the_loader_is_iterated_again_when_it_runs_out(digits):
    loader = Counting(*digits, n=3)
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE, schedule=SHORT)
    assert len(result.lrs) > 3 and loader.handed == len(result.lrs)


def test_dict_batches_need_a_batch_fn_that_says_which_is_which(digits):
    x, y = digits
    batches = [{"image": x[i : i + 32], "label": y[i : i + 32]} for i in range(0, 320, 32)]
    model = mlp()
    with pytest.raises(LRFinderError, match=r"batch_fn=lambda batch: \(batch\['image'\]"):
        lt.find_lr(model, batches, torch.optim.Adam(model.parameters()), CE, schedule=SHORT)
    result = lt.find_lr(
        model,
        batches,
        torch.optim.Adam(model.parameters()),
        CE,
        schedule=SHORT,
        batch_fn=lambda b: (b["image"], b["label"]),
    )
    assert len(result.lrs) > 20


def test_repeats_with_fresh_models_give_a_median_of_different_runs(loader):
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters())
    before = snapshot(model, optimizer)
    result = lt.find_lr(
        model,
        loader,
        optimizer,
        CE,
        schedule=SHORT,
        repeats=3,
        model_factory=mlp,
        optimizer_factory=lambda m: torch.optim.Adam(m.parameters()),
    )
    assert result.n_runs == 3 and len(result.stop_reasons) == 3
    assert not np.array_equal(result.run_losses[0], result.run_losses[1], equal_nan=True)
    assert np.array_equal(result.losses, median_over_runs(result.run_losses), equal_nan=True)
    assert same(snapshot(model, optimizer), before)
    # run 0 is the single test of the given model
    single = lt.find_lr(model, loader, optimizer, CE, schedule=SHORT)
    assert np.array_equal(single.losses, result.run_losses[0][: len(single.lrs)])


def test_same_seed_same_curve_other_seed_other_curve(loader):
    def run(seed):
        model = mlp()
        return lt.find_lr(
            model, loader, torch.optim.Adam(model.parameters()), CE, schedule=SHORT, seed=seed
        ).losses

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_validation_loss_every_k_steps(digits, loader):
    val = [(digits[0][:200], digits[1][:200])]
    model = mlp()
    result = lt.find_lr(
        model,
        loader,
        torch.optim.Adam(model.parameters()),
        CE,
        schedule=SHORT,
        val_loader=val,
        val_every=5,
    )
    assert np.array_equal(result.val_steps, np.arange(0, len(result.lrs), 5))
    assert np.all(np.isfinite(result.val_losses[0][:5]))


def test_mixed_precision_through_the_callers_autocast_and_grad_scaler(loader):
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters())
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    scale_before = scaler.state_dict()
    result = lt.find_lr(
        model,
        loader,
        optimizer,
        CE,
        schedule=SHORT,
        grad_scaler=scaler,
        autocast=lambda: torch.autocast("cpu", dtype=torch.bfloat16),
    )
    assert len(result.lrs) > 20 and result.settings["mixed_precision"] is True
    assert scaler.state_dict() == scale_before


def test_a_slow_learner_is_extended_and_read_on_fixed_training_batches():
    # the tutorial's 1-D curve fit: SGD on a sigmoid MLP at batch 10 learns too slowly
    # for the default 200 steps to show a fall
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1)).astype(np.float32)
    y = (np.sin(3 * np.pi * x) * np.exp(-4 * x**2)).astype(np.float32)
    y += 0.05 * rng.standard_normal(y.shape).astype(np.float32)
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 1))
    result = lt.find_lr(
        model, loader, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss()
    )
    assert result.slow_learner and "1000-step test" in result.note
    assert "fixed subset of 200 training rows" in result.note
    assert result.val_steps is not None and result.val_steps[1] == 10


def test_cold_start_gain_of_rmsprop_is_recorded(loader):
    model = mlp()
    rms = lt.find_lr(model, loader, torch.optim.RMSprop(model.parameters()), CE, schedule=SHORT)
    adam = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE, schedule=SHORT)
    assert rms.cold_start_gain == pytest.approx(10.0)  # 1 / sqrt(1 - 0.99)
    assert adam.cold_start_gain == 1.0


def test_the_momentum_lag_is_recorded_and_read(loader):
    model = mlp()
    params = model.parameters
    sgd = torch.optim.SGD(params(), lr=0.1)
    heavy = torch.optim.SGD(params(), lr=0.1, momentum=0.9)
    nesterov = torch.optim.SGD(params(), lr=0.1, momentum=0.9, nesterov=True)
    assert lt.momentum_lag(sgd) == 0.0
    assert lt.momentum_lag(heavy) == pytest.approx(9.0)
    assert lt.momentum_lag(nesterov) == pytest.approx(8.1)
    assert lt.momentum_lag(torch.optim.AdamW(params(), betas=(0.5, 0.999))) == pytest.approx(1.0)
    assert lt.momentum_lag(torch.optim.Adagrad(params())) == 0.0
    result = lt.find_lr(model, loader, torch.optim.Adam(params()), CE, schedule=SHORT)
    assert result.settings["momentum_lag"] == pytest.approx(9.0)
    assert result.suggestion == result.suggest(momentum_lag=9.0).lr


def test_the_result_round_trips_and_the_cli_reads_it(loader, tmp_path):
    from cli_run import run_cli

    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE)
    path = result.to_json(tmp_path / "run.json")
    assert load_result(path) == result
    json.loads(path.read_text())  # plain JSON
    out = run_cli(["analyze", path])
    assert out.exit_code == 0, out.output
    assert "torch.optim.Adam" in out.output


def test_a_small_cnn_through_the_same_call(digits):
    x, y = digits
    images = torch.utils.data.TensorDataset(x.reshape(-1, 1, 8, 8), y)
    loader = torch.utils.data.DataLoader(images, batch_size=64, shuffle=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 10),
    )
    result = lt.find_lr(net, loader, torch.optim.Adam(net.parameters()), CE)
    assert result.suggestion is not None, result.analysis.reason


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(model="net"), "model must be a torch.nn.Module"),
        (dict(optimizer="adam"), "optimizer must be a torch.optim.Optimizer"),
        (dict(other_model=True), "does not update this model's parameters"),
        (dict(lr=0.0), "needs a learning rate > 0"),
        (dict(stop_factor=1.0), "stop_factor must be a finite number > 1"),
        (dict(accumulation_steps=0), "accumulation_steps must be an integer >= 1"),
        (dict(repeats=0), "repeats must be an integer >= 1"),
        (dict(schedule=[0.1]), "schedule must be a LearningRateSearcher"),
        (dict(loader=3), "loader must be an iterable"),
        (dict(loader=[]), "loader yields no batches"),
        (dict(loader=[[1]]), "not (inputs, targets) pairs"),
        (dict(criterion=None), "criterion must be callable"),
        (dict(device="tpu"), "device='tpu' is not a torch device"),
        pytest.param(
            dict(device="cuda:0"),
            "this torch sees no CUDA device",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has CUDA"),
        ),
        (dict(loader=[(torch.zeros(8, 5), torch.zeros(8, dtype=torch.int64))]), "shape (8, 5)"),
        (dict(loader=[(torch.zeros(8, 64), torch.full((8,), 10))]), "IndexError"),
    ],
)
def test_bad_input_is_one_lrfinder_error_naming_it(loader, change, words):
    change = dict(change)
    model = mlp()
    params = (mlp(1) if change.pop("other_model", False) else model).parameters()
    args = {
        "model": model,
        "loader": loader,
        "optimizer": torch.optim.SGD(params, lr=change.pop("lr", 0.1)),
        "criterion": CE,
    }
    for key in list(change):
        if key in args:
            args[key] = change.pop(key)
    with pytest.raises(LRFinderError, match=words.replace("(", r"\(").replace(")", r"\)")):
        lt.find_lr(args["model"], args["loader"], args["optimizer"], args["criterion"], **change)


def test_batches_that_do_not_fit_fail_at_the_first_step_and_restore_everything(loader):
    model, optimizer = warmed(torch.optim.Adam, loader, lr=1e-3)
    before = snapshot(model, optimizer)
    wide = [(torch.zeros(8, 65), torch.zeros(8, dtype=torch.int64))]
    with pytest.raises(LRFinderError, match=r"first batch failed.*loader yields") as err:
        lt.find_lr(model, wide, optimizer, CE)
    assert isinstance(err.value.__cause__, RuntimeError)  # torch's own message is kept
    assert same(snapshot(model, optimizer), before)


def test_a_failure_after_the_first_step_is_raised_as_it_is(loader):
    class Breaks(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.calls = mlp(), 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("the model's own bug")
            return self.net(x)

    model = Breaks()
    with pytest.raises(RuntimeError, match="the model's own bug"):
        lt.find_lr(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), CE)


def test_verify_probes_fresh_torch_models_around_the_suggestion(digits, loader):
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE)
    x, y = digits
    checked = lt.verify(result, (x, y), model_factory=mlp, criterion=CE, steps=60, seeds=2)
    assert checked.lr is not None and checked.lr in checked.candidates
    assert checked.settings["optimizer"] == "torch.optim.Adam"
    assert {p.seed for p in checked.probes} == {0, 1}
    imported = RangeTestResult.from_curve(result.lrs, result.losses)  # no torch optimizer
    with pytest.raises(LRFinderError, match="optimizer_factory"):
        lt.verify(imported, (x, y), model_factory=mlp, criterion=CE)


def test_verify_names_data_the_model_cannot_take_before_any_probe_trains(digits, loader):
    model = mlp()
    result = lt.find_lr(model, loader, torch.optim.Adam(model.parameters()), CE, schedule=SHORT)
    x, y = digits
    with pytest.raises(LRFinderError, match=r"does not fit.*x of shape \(1437, 60\)"):
        lt.verify(result, (x[:, :60], y), model_factory=mlp, criterion=CE, steps=30)
    with pytest.raises(LRFinderError, match=r"model_factory\(seed\) must return"):
        lt.verify(result, (x, y), model_factory=lambda seed: "net", criterion=CE, steps=30)


def test_the_cnn_example_runs_and_draws_its_plot(tmp_path):
    script = Path(__file__).resolve().parents[1] / "examples" / "torch_cnn_digits.py"
    plot = tmp_path / "lr.png"
    out = subprocess.run(
        [sys.executable, str(script), "--plot", str(plot), "--epochs", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "suggested learning rate" in out.stdout and "test accuracy" in out.stdout
    assert plot.read_bytes().startswith(b"\x89PNG")
