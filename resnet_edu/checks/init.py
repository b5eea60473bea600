"""Exercise 2: an initialisation for a deep plain stack, and the gradient profile that tests it
(lesson 02: vanishing gradients).

``init_for(model, activation)`` re-initialises every ``nn.Linear`` in place: He et al. 2015
("Kaiming") for ReLU, weights of variance 2 / fan_in; Glorot and Bengio 2010 ("Xavier") for tanh,
variance 2 / (fan_in + fan_out); biases 0. Normal or uniform weights both pass: the check measures
each layer's variance, on layers whose fan-in and fan-out differ, so every usual confusion (fan-out,
1 / fan_in, the variance used as a standard deviation, a uniform bound set to the standard
deviation, the tanh gain 5/3) gives its own number. It then checks the behaviour the lesson is
about: at depth 50, without BatchNorm, every layer's gradient is within a small factor of the others.

``gradient_profile(model, x, y)`` returns the L2 norm of each Linear layer's weight gradient, input
to output, in float64 (a vanishing gradient's entries are float32 subnormals around 1e-43, whose
float32 norm underflows to 0.0), and gives the same numbers when called twice.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..data import load_digits
from ..models import MLPStack
from ..probes import gradient_norms
from ._harness import call, fmt, raise_first_match, require_function, require_list, require_numbers, sandbox
from .failure import fail, passed

INIT = "init_for"
PROFILE = "gradient_profile"
SHAPES = ((300, 100), (100, 400), (400, 50))  # (fan_in, fan_out): all different, about 20,000+ weights each
SPREAD = 100.0  # max / min gradient norm at depth 50 with the right init (measured 2-7; default init 1e10 and more)


def _test_model() -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(SHAPES):
        layers.append(nn.Linear(fan_in, fan_out))
        if i == 0:
            layers.append(nn.BatchNorm1d(fan_out))
        if i < len(SHAPES) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _variances(fan_in: int, fan_out: int) -> dict[str, tuple[float, str]]:
    """What a layer's weight variance is under each init a student may write: {name: (variance, what)}."""
    return {
        "kaiming": (2 / fan_in, "Kaiming (He) init: variance 2 / fan_in"),
        "xavier": (2 / (fan_in + fan_out), "Xavier (Glorot) init: variance 2 / (fan_in + fan_out)"),
        "fan_out": (
            2 / fan_out,
            "variance 2 / fan_OUT: Kaiming with mode='fan_out' (the fan-in keeps the forward signal)",
        ),
        "lecun": (
            1 / fan_in,
            "variance 1 / fan_in (LeCun init): half of what ReLU needs, as ReLU zeroes half the signal",
        ),
        "default": (1 / (3 * fan_in), "PyTorch's default init: this layer was not re-initialised"),
        "std_as_variance": (
            (2 / fan_in) ** 2,
            "the variance 2 / fan_in used as the STANDARD DEVIATION (std = 2 / fan_in)",
        ),
        "uniform_bound": (
            2 / fan_in / 3,
            "a uniform distribution on [-s, s] with s = sqrt(2 / fan_in): its variance is "
            "s^2 / 3, three times too small (the bound must be sqrt(6 / fan_in))",
        ),
        "xavier_uniform_bound": (
            2 / (fan_in + fan_out) / 3,
            "a uniform distribution whose bound is the Xavier standard "
            "deviation: its variance is three times too small (the bound is sqrt(6 / (fan_in + fan_out)))",
        ),
        "tanh_gain": (
            (5 / 3) ** 2 * 2 / (fan_in + fan_out),
            "Xavier with gain 5/3 (calculate_gain('tanh')): 2.8 times "
            "Glorot and Bengio's variance; this exercise uses their normalised init, gain 1",
        ),
        "kaiming_tanh": ((5 / 3) ** 2 / fan_in, "Kaiming init with nonlinearity='tanh' (variance (5/3)^2 / fan_in)"),
        "std_fan_in": (1 / fan_in**2, "a standard deviation of 1 / fan_in (variance 1 / fan_in^2)"),
    }


EXPECTED = {"relu": "kaiming", "tanh": "xavier"}


def _snapshot(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def check_init(function: Callable) -> None:
    """Check a student's ``init_for(model, activation)`` (Kaiming for "relu", Xavier for "tanh", biases 0)."""
    require_function(function, "check_init", INIT, f"{INIT}(model, activation)", f"{INIT}(model, 'relu')", None, "relu")
    with sandbox(11):
        torch.set_default_dtype(torch.float32)
        for activation in ("relu", "tanh"):
            tried = f"{INIT}(model, {activation!r}) on Linear layers of fan-in/fan-out " + ", ".join(
                f"{a}/{b}" for a, b in SHAPES
            )
            model = _test_model()
            before = _snapshot(model)
            returned = call(INIT, tried, function, model, activation)
            after = _snapshot(model)
            if all(torch.equal(before[k], after[k]) for k in before):
                if isinstance(returned, nn.Module) and returned is not model:
                    raise fail(
                        "not_in_place",
                        tried,
                        "the model's own layers re-initialised, in place",
                        "the function returned a new model and left the one it was given unchanged",
                        "change the weights of the given model's layers (nn.init functions work in place)",
                    )
                raise fail(
                    "nothing_changed",
                    tried,
                    "every Linear layer re-initialised",
                    f"with activation={activation!r} no weight changed (is only one activation handled?)",
                    "loop over model.modules() and re-initialise each nn.Linear's weight",
                )
            bn = model[1]
            if not (torch.equal(bn.weight, before["1.weight"]) and torch.equal(bn.bias, before["1.bias"])):
                raise fail(
                    "batchnorm_changed",
                    tried,
                    "only the Linear layers re-initialised",
                    "the BatchNorm layer's scale or shift changed: BatchNorm keeps weight 1 and bias 0",
                    "re-initialise only modules that are nn.Linear (isinstance(m, nn.Linear))",
                )
            linears = [m for m in model if isinstance(m, nn.Linear)]
            for index, (layer, (fan_in, fan_out)) in enumerate(zip(linears, SHAPES)):
                where = f"layer {index} (fan_in {fan_in}, fan_out {fan_out})"
                w = layer.weight.detach().double()
                variance = w.var().item()
                mean = w.mean().item()
                if abs(mean) > 6 * math.sqrt(max(variance, 1e-30) / w.numel()) + 1e-12:
                    raise fail(
                        "mean_not_zero",
                        tried + f", {where}",
                        "weights centred on 0",
                        f"the weights' mean is {fmt(mean)}, far from 0 for their spread (a uniform on [0, b]?)",
                        "draw from a distribution centred on 0: normal(0, std) or uniform(-b, b)",
                    )
                options = _variances(fan_in, fan_out)
                want, want_text = options[EXPECTED[activation]]
                ratio = variance / want
                if abs(ratio - 1) <= 0.08:
                    if layer.bias is not None and layer.bias.detach().abs().max().item() > 0:
                        raise fail(
                            "bias_not_zero",
                            tried + f", {where}",
                            "biases set to 0",
                            f"the bias of {where} is not zero (its largest entry is "
                            f"{fmt(layer.bias.abs().max().item())})",
                            "nn.init.zeros_(layer.bias) for each Linear layer",
                        )
                    continue
                for name, (value, text) in options.items():
                    if name != EXPECTED[activation] and abs(variance / value - 1) <= 0.08:
                        mistake = {"kaiming": "kaiming_for_tanh", "xavier": "xavier_for_relu"}.get(name, name)
                        cause = f"{where}: variance {fmt(variance)}, which is {text}"
                        if name == "kaiming":
                            cause += f"; for {activation!r} the exercise asks for Xavier"
                        if name == "xavier":
                            cause += f"; for {activation!r} the exercise asks for Kaiming"
                        if (
                            name == "default"
                            and index > 0
                            and all(
                                abs(m.weight.double().var().item() * 3 * m.in_features - 1) > 0.08
                                for m in linears[:index]
                            )
                        ):
                            cause = (
                                f"{where} still has PyTorch's default init: only some Linear layers were re-initialised"
                            )
                            mistake = "layer_skipped"
                        raise fail(
                            mistake,
                            tried,
                            f"{want_text} = {fmt(want)} for {where}",
                            cause,
                            "for 'relu': nn.init.kaiming_normal_(w, nonlinearity='relu'); for 'tanh': "
                            "nn.init.xavier_normal_(w) (or their _uniform_ versions); gain 1 for Xavier",
                        )
                raise fail(
                    "wrong_variance",
                    tried,
                    f"{want_text} = {fmt(want)} for {where}",
                    f"the weights have variance {fmt(variance)}, {fmt(ratio)} times that",
                    "for 'relu': nn.init.kaiming_normal_(w, nonlinearity='relu'); for 'tanh': "
                    "nn.init.xavier_normal_(w)",
                )
            # torch's random numbers: seeding torch makes the init repeatable
            draws = []
            for _ in range(2):
                model = _test_model()
                torch.manual_seed(123)
                call(INIT, tried, function, model, activation)
                draws.append(model[0].weight.detach().clone())
            if not torch.equal(draws[0], draws[1]):
                raise fail(
                    "not_reproducible",
                    tried,
                    "the same weights after torch.manual_seed(123) twice",
                    "the init draws its random numbers elsewhere (NumPy, Python's random): torch's seed does not "
                    "make it repeatable",
                    "use torch's own functions (torch.nn.init, torch.randn)",
                )
        # the behaviour the lesson is about: a flat gradient profile at depth 50, without BatchNorm
        digits = load_digits()
        x, y = digits.x_train[:32], digits.y_train[:32]
        for activation in ("relu", "tanh"):
            tried = f"{INIT}(model, {activation!r}) on MLPStack(50, activation={activation!r}, batchnorm=False)"
            model = MLPStack(50, activation=activation, batchnorm=False)
            call(INIT, tried, function, model, activation)
            norms = list(gradient_norms(model, x, y).values())
            spread = max(norms) / min(norms) if min(norms) > 0 else math.inf
            if not spread < SPREAD:
                raise fail(
                    "profile_not_flat",
                    tried,
                    f"every layer's gradient norm within a factor of {SPREAD:g} of the others",
                    f"the largest is {fmt(spread)} times the smallest",
                    "re-initialise every Linear layer of the stack",
                )
    passed(
        f"{INIT} gives Kaiming (ReLU) and Xavier (tanh) variances on every Linear layer, zero biases, and a flat "
        "gradient profile at depth 50."
    )


def _reference_profile(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
    """The profile as the package computes it (grads in the model's dtype, norms in float64), and fully in float64."""
    ref = list(gradient_norms(model, x, y).values())
    wide = copy.deepcopy(model).double().train(model.training)
    full = list(gradient_norms(wide, x.double(), y).values())
    return ref, full


def _near(a: list[float], b: list[float], tol: float = 1e-6) -> bool:
    return len(a) == len(b) and all(abs(u - v) <= tol * abs(v) + 1e-300 for u, v in zip(a, b))


def _near_candidate(a: list[float], b: list[float]) -> bool:
    """A usual mistake's values match at a looser tolerance (they are computed another way)."""
    return _near(a, b, 1e-4)


def check_gradient_profile(function: Callable) -> None:
    """Check a student's ``gradient_profile(model, x, y) -> list[float]``."""
    signature = f"{PROFILE}(model, x, y)"
    require_function(function, "check_gradient_profile", PROFILE, signature, signature, None, None, None)
    with sandbox(12):
        torch.set_default_dtype(torch.float32)
        digits = load_digits()
        cases = [
            ("MLPStack(6, width=16) with BatchNorm, in training mode", MLPStack(6, width=16), 32),
            (
                "MLPStack(8, width=12, activation='tanh', batchnorm=False)",
                MLPStack(8, width=12, activation="tanh", batchnorm=False),
                48,
            ),
            (
                "MLPStack(50, activation='sigmoid', batchnorm=False): a vanishing gradient",
                MLPStack(50, activation="sigmoid", batchnorm=False),
                256,
            ),
        ]
        for label, model, batch in cases:
            x, y = digits.x_train[:batch], digits.y_train[:batch]
            model.train()
            n = sum(isinstance(m, nn.Linear) for m in model.modules())
            ref, full = _reference_profile(model, x, y)
            state = {k: v.detach().clone() for k, v in model.named_parameters()}
            for attempt in (1, 2):
                tried = f"{PROFILE}(model, x, y) with model = {label}, x = {batch} digits" + (
                    ", a second time" if attempt == 2 else ""
                )
                result = call(PROFILE, tried, function, model, x, y)
                if isinstance(result, dict):
                    result = list(result.values())
                if isinstance(result, torch.Tensor):
                    raise fail(
                        "not_a_list",
                        tried,
                        f"a list of {n} Python floats",
                        "it returned a tensor",
                        "collect g.norm().item() values in a list",
                    )
                require_list(
                    result,
                    tried,
                    f"a list of {n} floats",
                    "return the list of norms at the end",
                    "return a list with one norm per Linear layer",
                )
                require_numbers(result, tried, "plain Python floats", "append norm.item(), a float")
                now = dict(model.named_parameters())
                if not all(torch.equal(now[k], state[k]) for k in state):
                    raise fail(
                        "model_changed",
                        tried,
                        "the model's weights left unchanged (a measurement, not a training step)",
                        "the weights changed: an optimiser step, or an in-place change",
                        "only forward, backward and read the gradients",
                    )
                if len(result) != n:
                    with_bias = 2 * n
                    cause = (
                        f"{len(result)} values: biases (or BatchNorm parameters) are included"
                        if len(result) >= with_bias
                        else f"{len(result)} values for {n} Linear layers"
                    )
                    raise fail(
                        "length",
                        tried,
                        f"{n} norms, one per nn.Linear weight, input to output",
                        cause,
                        "keep only the .weight of modules that are nn.Linear",
                    )
                values = [float(v) for v in result]
                if _near(values, ref) or _near(values, full):
                    continue
                if attempt == 2 and (_near(values, [2 * v for v in ref]) or _near(values, [2 * v for v in full])):
                    raise fail(
                        "grad_accumulates",
                        tried,
                        "the same norms on every call",
                        "the second call gives twice the first call's norms: .grad ADDS each backward pass to what is "
                        "already there",
                        "zero the gradients (model.zero_grad()) before loss.backward()",
                    )
                if any(v == 0.0 for v in values) and all(v > 0 for v in ref):
                    first = values.index(0.0)
                    raise fail(
                        "float32_norm",
                        tried,
                        "every norm above 0: the gradients are tiny, not zero",
                        f"layer {first}'s norm is 0.0 although its gradient is about {fmt(ref[first])}: its entries "
                        "are float32 subnormals (around 1e-43) whose squares underflow to 0 in float32",
                        "compute each norm in float64: grad.double().norm().item()",
                    )
                candidates = [
                    (
                        "reversed",
                        ref[::-1],
                        "the norms are in reverse order, output to input",
                        "keep the model's layer order",
                    ),
                    (
                        "squared",
                        [v * v for v in ref],
                        "the values are squared norms",
                        "take the square root: grad.norm()",
                    ),
                    (
                        "loss_sum",
                        [v * batch for v in ref],
                        f"the values are {batch} times too large: the loss is summed over the batch",
                        "F.cross_entropy with its default reduction='mean'",
                    ),
                ]
                probe = copy.deepcopy(model).double()
                loss = F.cross_entropy(probe(x.double()), y)
                grads = torch.autograd.grad(loss, [m.weight for m in probe.modules() if isinstance(m, nn.Linear)])
                candidates += [
                    (
                        "with_bias",
                        [
                            torch.cat([g.flatten(), b.flatten()]).norm().item()
                            for g, b in zip(
                                grads,
                                torch.autograd.grad(
                                    F.cross_entropy(probe(x.double()), y),
                                    [m.bias for m in probe.modules() if isinstance(m, nn.Linear)],
                                ),
                            )
                        ],
                        "each value is the norm of the weight AND bias gradients together",
                        "only layer.weight.grad",
                    ),
                    (
                        "relative",
                        [
                            g.norm().item() / m.weight.norm().item()
                            for g, m in zip(grads, [m for m in probe.modules() if isinstance(m, nn.Linear)])
                        ],
                        "each value is ||grad|| / ||weight||, a relative size, not the gradient's norm",
                        "grad.double().norm().item()",
                    ),
                    (
                        "log10",
                        [math.log10(v) if v > 0 else -math.inf for v in ref],
                        "the values are log10 of the norms",
                        "return the norms themselves; plot them on a log scale instead",
                    ),
                    (
                        "max_entry",
                        [g.abs().max().item() for g in grads],
                        "each value is the largest entry |g|, not the L2 norm",
                        "grad.norm() (the square root of the sum of squares)",
                    ),
                    (
                        "l1_norm",
                        [g.abs().sum().item() for g in grads],
                        "each value is the sum of |g| (the L1 norm), not the L2 norm",
                        "grad.norm()",
                    ),
                    (
                        "mean_abs",
                        [g.abs().mean().item() for g in grads],
                        "each value is the mean of |g|, not the L2 norm",
                        "grad.norm()",
                    ),
                ]
                evalm = copy.deepcopy(model).eval()
                eval_grads = torch.autograd.grad(
                    F.cross_entropy(evalm(x), y), [m.weight for m in evalm.modules() if isinstance(m, nn.Linear)]
                )
                candidates.append(
                    (
                        "eval_mode",
                        [g.double().norm().item() for g in eval_grads],
                        "the gradients were measured in eval mode (BatchNorm with running statistics)",
                        "measure the model in the mode it was given (training mode here): do not call model.eval()",
                    )
                )
                raise_first_match(
                    values,
                    candidates,
                    tried,
                    f"the L2 norm of each Linear weight's gradient, input to output: "
                    f"{fmt(ref[0])}, ..., {fmt(ref[-1])}",
                    near=_near_candidate,
                )
                worst = max(range(n), key=lambda i: abs(values[i] - ref[i]) / max(ref[i], 1e-300))
                raise fail(
                    "wrong_values",
                    tried,
                    f"layer {worst}: {fmt(ref[worst])}",
                    f"your value is {fmt(values[worst])}; likely causes: another loss than "
                    "F.cross_entropy(model(x), y), another layer's gradient, or a second backward pass",
                    "one forward, one loss, one backward, then grad.double().norm().item() for each Linear weight",
                )
    passed(
        f"{PROFILE} gives each Linear layer's gradient norm in float64 (1e-42 is not 0), input to output, "
        "the same on every call."
    )
