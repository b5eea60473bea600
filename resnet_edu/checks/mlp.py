"""Exercise 3: a residual MLP whose skip connections can be switched off, and the degradation
experiment with it (He et al. 2015, section 4.1, on the digits).

References: :class:`resnet_edu.models.ResidualMLPBlock` and :class:`resnet_edu.models.MLPStack`
(``block="residual"``); switching uses :func:`resnet_edu.models.set_skips`, which works on any
module with a boolean ``skip`` attribute. The blocks' layers are found by watching the forward
pass, so any names, registration order, ``bias=False`` before BatchNorm and functional or module
ReLUs are accepted. The experiment is checked for its protocol (what it trains on, for how many
steps, how each run is seeded, which loss it reports), not only for its outcome.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _module

from ..data import load_digits
from ..models import MLPStack, ResidualMLPBlock, set_skips, skip_blocks
from ..train import evaluate
from ._harness import (
    call,
    chained,
    close,
    construct,
    copy_in_running_order,
    copy_roles,
    distinct,
    fmt,
    forward,
    one_input,
    post_activation_mistakes,
    raise_first_match,
    randomise_batchnorm,
    recording,
    reject_shared_batchnorm,
    require_class,
    require_function,
    require_no_dropout,
    require_shape,
    require_signature,
    require_skip_gradient,
    same,
    sandbox,
    trace_layers,
)
from .failure import fail, passed

WIDTHS, BATCH = (6, 5), 8
BLOCK_FORMULA = "ReLU(BN2(fc2(ReLU(BN1(fc1(x))))) + x) with skip = True"


def _block_roles(calls, x: torch.Tensor, tried: str) -> dict:
    """fc1, bn1, fc2, bn2 of a student's block, found in the trace of one forward pass."""
    reject_shared_batchnorm(
        calls,
        tried,
        "two BatchNorm1d layers, one after each Linear",
        "create two separate nn.BatchNorm1d(width) in __init__",
    )
    bns = [c for c in calls if isinstance(c.module, nn.BatchNorm1d)]
    linears = distinct(calls, nn.Linear)
    if len(linears) != 2 or len(distinct(calls, nn.BatchNorm1d)) != 2:
        ran = ", ".join(type(c.module).__name__ for c in calls) or "no Linear or BatchNorm1d"
        raise fail(
            "layers",
            tried,
            "two Linear(width, width) layers and two BatchNorm1d(width), each run once",
            f"forward ran: {ran}",
            "fc1 -> BN1 -> ReLU -> fc2 -> BN2, then + x and ReLU",
        )
    fc_calls = [c for c in calls if isinstance(c.module, nn.Linear)]
    if len(fc_calls) != 2:
        raise fail(
            "layers",
            tried,
            "each Linear layer run once",
            "a Linear layer runs more than once in forward",
            "fc1 once, fc2 once",
        )
    fc1, fc2 = fc_calls
    if not same(fc1.input, x):
        raise fail(
            "fc1_input",
            tried,
            "the first Linear applied to the block's input x",
            "the first Linear layer receives something else than x (BN or ReLU before it?)",
            "the post-activation block starts with fc1(x); BN and ReLU come after each Linear",
        )
    roles = {"fc1": fc1.module, "fc2": fc2.module}
    for name, fc in (("bn1", fc1), ("bn2", fc2)):
        bn = next((c for c in bns if same(c.input, fc.output)), None)
        if bn is None:
            other = next((c for c in bns if c.module is not roles.get("bn1")), None)
            if name == "bn2" and other is not None and other.input is not None:
                if same(other.input, fc.output + x):
                    raise fail(
                        "bn_after_add",
                        tried,
                        BLOCK_FORMULA,
                        "the second BatchNorm normalises the SUM fc2(...) + x: it sits after the addition, "
                        "so the skip no longer carries x unchanged",
                        "normalise the branch first: BN2(fc2(h)), then add x, then ReLU",
                    )
                if same(other.input, F.relu(fc.output)):
                    raise fail(
                        "bn_after_relu",
                        tried,
                        BLOCK_FORMULA,
                        "the second BatchNorm comes after a ReLU instead of right after fc2",
                        "the order is Linear -> BN -> ReLU",
                    )
            if name == "bn1" and any(same(c.input, F.relu(fc.output)) for c in bns):
                raise fail(
                    "bn_after_relu",
                    tried,
                    BLOCK_FORMULA,
                    "the first BatchNorm comes after the ReLU instead of right after fc1",
                    "the order is Linear -> BN -> ReLU",
                )
            raise fail(
                "bn_missing",
                tried,
                BLOCK_FORMULA,
                f"no BatchNorm normalises the output of the {'first' if name == 'bn1' else 'second'} Linear layer",
                "Linear -> BatchNorm1d -> ReLU in the branch, twice (no ReLU after the second BN before the addition)",
            )
        roles[name] = bn.module
    return roles


def _load_block(roles: dict, width: int) -> nn.Module:
    ref = ResidualMLPBlock(width).double().train()
    copy_roles(roles, ref)
    return ref


def check_mlp_block(block_class: type) -> None:
    """Check a student's ``MLPBlock(width)``: ``ReLU(BN2(fc2(ReLU(BN1(fc1(x))))) + x)``, with a ``skip`` switch."""
    require_class(block_class, "MLPBlock")
    require_signature(block_class, "MLPBlock(width)", "MLPBlock(6)", WIDTHS[0])
    with sandbox(2) as g:
        for width in WIDTHS:
            tried = f"MLPBlock({width}) on x of shape ({BATCH}, {width})"
            block = construct(block_class, tried, width)
            if getattr(block, "skip", None) is not True:
                raise fail(
                    "skip_attribute",
                    tried,
                    "an attribute self.skip = True set in __init__",
                    f"block.skip is {getattr(block, 'skip', 'missing')!r}: set_skips() finds blocks by their boolean "
                    "'skip'",
                    "add self.skip = True at the end of __init__, and 'if self.skip:' in forward",
                )
            block.to("cpu", torch.float64).train()
            randomise_batchnorm(block, g)
            x = torch.randn(BATCH, width, generator=g, dtype=torch.float64)
            out, calls = trace_layers(block, x, "MLPBlock", tried)
            require_shape(out, (BATCH, width), tried, "both Linear layers map width -> width")
            roles = _block_roles(calls, x, tried)
            ref = _load_block(roles, width)
            with torch.no_grad():
                fc1 = ref.fc1(x)
                h = F.relu(ref.bn1(fc1))
                f = ref.bn2(ref.fc2(h))
            if not close(out, ref(x)):
                candidates = [
                    *post_activation_mistakes(f, x, "BN2", skip="x", switch="self.skip"),
                    *(
                        (
                            "wrong_skip_tensor",
                            F.relu(f + carried),
                            f"the skip adds {what} instead of the block's input x",
                            "keep the block's input x (before fc1) and add that",
                        )
                        for carried, what in ((h, "the hidden activation ReLU(BN1(fc1(x)))"), (fc1, "fc1(x)"))
                    ),
                    ("skip_doubled", F.relu(f + 2 * x), "x is added twice (2x instead of x)", "add x once"),
                    *(
                        (
                            "activation",
                            F.relu(ref.bn2(ref.fc2(act(ref.bn1(fc1)))) + x),
                            f"the activation inside the branch is {name}, not ReLU",
                            "ReLU everywhere in the block",
                        )
                        for act, name in ((torch.tanh, "tanh"), (torch.sigmoid, "a sigmoid"))
                    ),
                ]
                raise_first_match(out, candidates, tried, BLOCK_FORMULA)
                raise fail(
                    "wrong_output",
                    tried,
                    BLOCK_FORMULA,
                    "the output differs from the course's block on the same weights (largest difference "
                    f"{fmt((out - ref(x)).abs().max().item())}); likely: the order Linear -> BN -> ReLU, or something "
                    "else added or scaled",
                    "compare forward line by line with the formula",
                )
            block.skip = ref.skip = False
            out_off = forward(block, x, "MLPBlock", tried + " with skip = False")
            if close(out_off, out):
                raise fail(
                    "skip_ignored",
                    tried + " with skip = False",
                    "ReLU(BN2(fc2(ReLU(BN1(fc1(x)))))): the plain block",
                    "the output does not change when skip is False: forward never reads self.skip",
                    "in forward: add x only if self.skip",
                )
            if not close(out_off, ref(x)):
                with torch.no_grad():
                    f = ref.bn2(ref.fc2(F.relu(ref.bn1(ref.fc1(x)))))
                if close(out_off, f):
                    raise fail(
                        "skip_off_no_relu",
                        tried + " with skip = False",
                        "the plain block ReLU(BN2(fc2(...)))",
                        "with skip = False the final ReLU is skipped too: only the '+ x' may depend on self.skip",
                        "apply the final ReLU in both cases",
                    )
                if close(out_off, x):
                    raise fail(
                        "skip_off_wrong",
                        tried + " with skip = False",
                        "the plain block ReLU(BN2(fc2(...)))",
                        "with skip = False the block returns x: it drops the branch instead of the skip",
                        "with skip = False compute the branch and its ReLU, without adding x",
                    )
                raise fail(
                    "skip_off_wrong",
                    tried + " with skip = False",
                    "the plain block ReLU(BN2(fc2(ReLU(BN1(fc1(x)))))) on the same weights",
                    "with skip = False the block computes something else (it must drop only the '+ x')",
                    "keep the branch and the final ReLU; only the addition depends on self.skip",
                )
            block.skip = ref.skip = True
            require_skip_gradient(
                block,
                ref,
                x,
                "MLPBlock",
                tried,
                expected="the gradient to flow through the skip",
                cause="the output is right but the gradient is not: the skip is cut from autograd "
                "(x.detach(), x.data or torch.no_grad())",
                hint="add x itself",
            )
    passed("MLPBlock computes ReLU(F(x) + x), and the plain block F(x) when skip is False.")


def _block_io(model: nn.Module, x: torch.Tensor, name: str, tried: str) -> tuple[torch.Tensor, list, list]:
    """Forward with a trace of the weight layers and of each switchable block's input and output."""
    with recording(skip_blocks(model)) as io:
        out, calls = trace_layers(model, x, name, tried)
    return out, calls, io


def _relu_between(ref: nn.Module, x: torch.Tensor) -> torch.Tensor:
    h = ref.stem(x)
    for block in ref.blocks:
        h = F.relu(block(h))
    return h


def check_residual_mlp(model_class: type) -> None:
    """Check a student's ``ResidualMLP(depth, width=64, in_features=64, num_classes=10)``."""
    require_class(model_class, "ResidualMLP")
    sig = "ResidualMLP(depth, width=64, in_features=64, num_classes=10)"
    require_signature(
        model_class,
        sig,
        "ResidualMLP(10, width=6, in_features=5, num_classes=3)",
        10,
        width=6,
        in_features=5,
        num_classes=3,
    )
    with sandbox(3) as g:
        for depth, width, features, classes in ((4, 6, 5, 3), (10, 5, 7, 4), (8, 6, 5, 3)):
            tried = f"ResidualMLP({depth}, width={width}, in_features={features}, num_classes={classes})"
            n_blocks = (depth - 2) // 2
            model = construct(model_class, tried, depth, width=width, in_features=features, num_classes=classes)
            lists = [
                n
                for n, v in vars(model).items()
                if isinstance(v, (list, tuple)) and any(isinstance(b, nn.Module) for b in v)
            ]
            if lists:
                raise fail(
                    "python_list",
                    tried,
                    "every block registered with the model (nn.Sequential or nn.ModuleList)",
                    f"self.{lists[0]} is a plain Python list: PyTorch does not see the layers inside it "
                    "(no parameters for the optimiser, no .double(), no set_skips)",
                    "keep the blocks in an nn.Sequential (or nn.ModuleList)",
                )
            blocks = skip_blocks(model)
            switches = [
                m for _, m in model.named_modules(remove_duplicate=False) if isinstance(getattr(m, "skip", None), bool)
            ]
            if len(switches) != len({id(m) for m in switches}):
                raise fail(
                    "same_block",
                    tried,
                    f"{n_blocks} different blocks",
                    "the same block object is repeated ([MLPBlock(width)] * n): all blocks share one set of weights",
                    "build a new block in each iteration of a loop or comprehension",
                )
            linears = sum(isinstance(m, nn.Linear) for m in model.modules())
            if linears != depth:
                raise fail(
                    "depth_count",
                    tried,
                    f"{depth} Linear layers: 1 in the stem + 2 in each of the {n_blocks} block(s) + 1 in the head",
                    f"the model has {linears} Linear layers ({len(blocks)} blocks): depth counts weight layers, as in "
                    "the papers",
                    "the number of blocks is (depth - 2) // 2",
                )
            if len(blocks) != n_blocks:
                raise fail(
                    "blocks",
                    tried,
                    f"{n_blocks} blocks with a boolean 'skip' attribute (your MLPBlock)",
                    f"set_skips() finds {len(blocks)} switchable blocks",
                    "build the blocks with MLPBlock(width)",
                )
            linear_list = [m for m in model.modules() if isinstance(m, nn.Linear)]
            if linear_list and not any(m.in_features == features for m in linear_list):
                raise fail(
                    "in_features_ignored",
                    tried,
                    f"a first Linear layer taking in_features={features} inputs",
                    f"no Linear layer takes {features} inputs: in_features is not passed to the stem",
                    "the stem's Linear is Linear(in_features, width)",
                )
            heads = [m for m in linear_list if m.out_features not in (width,)]
            if heads and heads[-1].out_features == 10 and classes != 10 and heads[-1].in_features == width:
                raise fail(
                    "num_classes_ignored",
                    tried,
                    f"a head Linear(width, num_classes={classes})",
                    "the head has 10 outputs: num_classes is ignored",
                    "the head is Linear(width, num_classes)",
                )
            require_no_dropout(model, tried, "MLPStack", ", which changes the function in training mode")
            wrong_width = [
                m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features not in (width, classes)
            ]
            if wrong_width:
                raise fail(
                    "width_ignored",
                    tried,
                    f"hidden layers of width {width}",
                    f"a Linear layer has {wrong_width[0].out_features} outputs: the width argument is not used "
                    "everywhere",
                    "pass width to the stem, to every block and to the head",
                )
            model.to("cpu", torch.float64).train()
            randomise_batchnorm(model, g)
            ref = MLPStack(depth, width, "residual", in_features=features, num_classes=classes).double().train()
            x = torch.randn(BATCH, features, generator=g, dtype=torch.float64)
            for skips in (True, False):
                set_skips(model, skips)
                set_skips(ref, skips)
                state = "on" if skips else "off"
                out, calls, io = _block_io(model, x, "ResidualMLP", tried)
                if tuple(out.shape) != (BATCH, classes):
                    cause = (
                        f"the output has shape {tuple(out.shape)}: num_classes is ignored (10 outputs)"
                        if out.shape[-1:] == (10,)
                        else f"the output has shape {tuple(out.shape)}"
                    )
                    raise fail(
                        "num_classes_ignored" if out.shape[-1:] == (10,) else "shape",
                        tried,
                        f"logits of shape ({BATCH}, {classes})",
                        cause,
                        "end with the head Linear(width, num_classes), no activation after it",
                    )
                if not chained(io):
                    if one_input(io):
                        raise fail(
                            "blocks_fed_stem",
                            tried,
                            "each block fed the previous block's output",
                            "every block receives the stem's output: the blocks are applied side by side, "
                            "not one after the other",
                            "in a loop, reassign the running tensor: h = block(h)",
                        )
                    raise fail(
                        "blocks_not_chained",
                        tried,
                        "each block fed the previous block's output",
                        "a block receives something else than the previous block's output",
                        "apply the blocks one after the other (nn.Sequential does it)",
                    )
                ref_out, ref_calls = trace_layers(ref, x, "MLPStack", tried)
                if not copy_in_running_order(calls, ref_calls, (nn.Linear, nn.BatchNorm1d)):
                    raise fail(
                        "layers",
                        tried,
                        "stem: Linear(in_features, width), BatchNorm1d, ReLU; the blocks; head: Linear(width, "
                        "num_classes)",
                        "the Linear / BatchNorm layers that run differ in number, kind or size from that layout",
                        "the stem is Linear(in_features, width), BatchNorm1d(width), ReLU",
                    )
                if not close(out, ref(x)):
                    with torch.no_grad():
                        h = ref.blocks(ref.stem(x))
                        stem_lin, stem_bn = ref.stem[0], ref.stem[1]
                        candidates = [
                            (
                                "relu_after_head",
                                F.relu(ref.head(h)),
                                "a ReLU after the head: logits must be able to be negative",
                                "return the head's output as it is",
                            ),
                            (
                                "stem_no_relu",
                                ref.head(ref.blocks(stem_bn(stem_lin(x)))),
                                "the stem has no ReLU after its BatchNorm",
                                "stem = Linear, BatchNorm1d, ReLU",
                            ),
                            (
                                "stem_order",
                                ref.head(ref.blocks(stem_bn(F.relu(stem_lin(x))))),
                                "the stem applies ReLU before BatchNorm",
                                "stem = Linear, BatchNorm1d, ReLU (in this order)",
                            ),
                            (
                                "relu_between_blocks",
                                ref.head(_relu_between(ref, x)),
                                "a ReLU is applied between blocks (the blocks already end with one)",
                                "apply the blocks one after the other",
                            ),
                            (
                                "softmax_head",
                                F.softmax(ref.head(h), dim=1),
                                "softmax after the head: the model must return logits "
                                "(F.cross_entropy applies log-softmax itself)",
                                "return the head's output as it is",
                            ),
                        ]
                    raise_first_match(
                        out,
                        candidates,
                        tried + f" with skips {state}",
                        "stem (Linear, BN, ReLU) -> blocks -> head (Linear)",
                    )
                    raise fail(
                        "wrong_output",
                        tried + f" with skips {state}",
                        "stem (Linear, BN, ReLU) -> blocks -> head (Linear), as resnet_edu.models.MLPStack",
                        "the output differs from the reference stack on the same weights (largest difference "
                        f"{fmt((out - ref(x)).abs().max().item())})",
                        "forward: stem, then each block in turn, then the head",
                    )
    passed("ResidualMLP has depth Linear layers, and set_skips switches it between residual and plain.")


# ----- the degradation experiment: its protocol and its outcome -------------------------------

EXPERIMENT = "degradation_experiment"


@dataclass
class _Run:
    """One model trained by the student's experiment, as seen from its forward passes."""

    model: nn.Module
    first_state: dict
    continues: bool = False  # started from the weights another run had trained
    depth: int = 0
    skips: set = field(default_factory=set)  # "on", "off", "none" or "mixed" at each training step
    steps: int = 0
    splits: set = field(default_factory=set)  # "train", "test" or "other" data at each step
    losses: list = field(default_factory=list)
    first_batch: bytes = b""
    known: bool = True  # every training row was found in the digits, so the losses are known
    batches: list = field(default_factory=list)  # indices into the training set, per step
    seen: set = field(default_factory=set)

    def final_loss(self) -> float:
        tail = self.losses[-10:]
        return sum(tail) / len(tail)

    def kind(self) -> str:
        return next(iter(self.skips)) if len(self.skips) == 1 else "mixed"


class _Recorder:
    """Watches every top-level forward pass while the experiment runs (global module hooks)."""

    def __init__(self) -> None:
        digits = load_digits()
        self.x_test, self.y_test = digits.x_test, digits.y_test
        self.x_train, self.y_train = digits.x_train, digits.y_train
        self.rows: dict[bytes, tuple[str, int, int]] = {}
        for split, x, y in (("test", digits.x_test, digits.y_test), ("train", digits.x_train, digits.y_train)):
            for index, (row, label) in enumerate(zip(x.reshape(len(x), -1).numpy(), y.tolist())):
                self.rows[row.tobytes()] = (split, label, index)
        self.runs: list[_Run] = []
        self._by_model: dict[int, _Run] = {}
        self._level = 0

    def __enter__(self) -> _Recorder:
        self._handles = [
            _module.register_module_forward_pre_hook(self._pre),
            _module.register_module_forward_hook(self._post),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()

    def _pre(self, module: nn.Module, args: tuple) -> None:
        if (
            self._level == 0
            and id(module) not in self._by_model
            and any(isinstance(m, nn.Linear) for m in module.modules())
        ):
            state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            continues = any(
                r.steps and r.model is not module and _same_state(r.model.state_dict(), state) for r in self.runs
            )
            run = _Run(module, state, continues, sum(isinstance(m, nn.Linear) for m in module.modules()))
            self.runs.append(run)
            self._by_model[id(module)] = run
        self._level += 1

    def _post(self, module: nn.Module, args: tuple, output: object) -> None:
        self._level = max(0, self._level - 1)
        run = self._by_model.get(id(module))
        if self._level or run is None or not module.training or not args or not isinstance(output, torch.Tensor):
            return
        x = args[0]
        if not isinstance(x, torch.Tensor):
            return
        flags = [m.skip for m in skip_blocks(module)]
        run.skips.add("none" if not flags else "on" if all(flags) else "off" if not any(flags) else "mixed")
        run.steps += 1
        rows = x.detach().to("cpu", torch.float32).reshape(len(x), -1).numpy()
        found = [self.rows.get(r.tobytes()) for r in rows]
        if run.steps == 1:
            run.first_batch = rows.tobytes()
        if any(f is None for f in found):
            run.splits.add("other")
            run.known = False
            return
        run.splits.update(f[0] for f in found)
        run.batches.append([f[2] for f in found] if all(f[0] == "train" for f in found) else None)
        run.seen.update((f[0], f[2]) for f in found)
        labels = torch.tensor([f[1] for f in found])
        with torch.no_grad():
            run.losses.append(F.cross_entropy(output.detach(), labels).item())

    def reset(self) -> None:
        self._level = 0


def _same_state(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


def _record(experiment: Callable, tried: str, depths: tuple, steps: int, seed: int) -> tuple[object, _Recorder]:
    dtype = torch.get_default_dtype()  # training runs in the student's own dtype (the data are float32)
    with sandbox(4):
        torch.set_default_dtype(dtype)
        with _Recorder() as recorder:
            try:
                result = call(EXPERIMENT, tried, experiment, depths, steps=steps, seed=seed)
            finally:
                recorder.reset()
    return result, recorder


def _check_result(result: object, depths: tuple, tried: str) -> None:
    if not isinstance(result, dict) or set(result) != {"plain", "residual"}:
        raise fail(
            "result_keys",
            tried,
            "a dict {'plain': {depth: loss}, 'residual': {depth: loss}}",
            f"got {type(result).__name__}"
            + (f" with keys {sorted(map(str, result))}" if isinstance(result, dict) else ""),
            "one dict per kind, 'plain' and 'residual', each mapping a depth to its final training loss",
        )
    for kind, losses in result.items():
        if not isinstance(losses, dict) or sorted(losses) != sorted(depths):
            raise fail(
                "result_depths",
                tried,
                f"result[{kind!r}] with one entry per depth: {sorted(depths)}",
                f"result[{kind!r}] is {losses!r:.80}",
                "one entry per depth in depths, keyed by the depth itself",
            )
        for depth, loss in losses.items():
            if isinstance(loss, torch.Tensor) or not isinstance(loss, float) or not math.isfinite(loss) or loss < 0:
                raise fail(
                    "result_values",
                    tried,
                    "each value a finite training loss as a Python float",
                    f"result[{kind!r}][{depth}] is {loss!r:.60} ({type(loss).__name__})",
                    "store history.final_loss(), which is a float",
                )


def _protocol(
    result: dict, rec: _Recorder, depths: tuple, steps: int, tried: str, replay: bool = True
) -> dict[tuple[str, int], _Run]:
    """Check how the experiment trained (what, how long, from which weights); return the run of each (kind, depth)."""
    runs = [r for r in rec.runs if r.steps]
    if not runs:
        raise fail(
            "not_trained",
            tried,
            f"{2 * len(depths)} models trained with train(...) for {steps} steps each",
            "no model was run in training mode: nothing was trained",
            "for each kind and depth: build, (switch skips off,) train(model, digits.x_train, digits.y_train, "
            "steps=steps, seed=seed)",
        )
    twice = [r for r in runs if {"on", "off"} <= r.skips]
    if twice:
        raise fail(
            "same_model_twice",
            tried,
            "a fresh model for every (kind, depth) run",
            f"one model of depth {twice[0].depth} was trained first with its skips on and then again with them off: "
            "the plain run starts from the residual run's trained weights",
            "build a new model (after seeding) for each run; never reuse a trained one",
        )
    if any(r.continues for r in runs):
        raise fail(
            "same_model_twice",
            tried,
            "a fresh model for every (kind, depth) run",
            "a run starts from weights that another run had already trained (a copy of a trained model?)",
            "build a new model (after seeding) for each run",
        )
    if any("test" in r.splits for r in runs):
        raise fail(
            "trained_on_test",
            tried,
            "training on the training set digits.x_train, digits.y_train",
            "the models are trained on the TEST set (digits.x_test): the experiment is about the training loss, "
            "and the test set must stay unseen",
            "train(model, digits.x_train, digits.y_train, ...)",
        )
    for r in runs:
        if r.known and r.batches:
            size = max(len(b) for b in r.batches if b is not None)
            possible = min(r.steps * size, len(rec.x_train))
            if len(r.seen) < 0.5 * possible:
                raise fail(
                    "train_subset",
                    tried,
                    "training on the whole training set (1,200 digits)",
                    f"the runs only ever see {len(r.seen)} different training digits: they train on a subset",
                    "train(model, digits.x_train, digits.y_train, ...) with all of it",
                )
    counts = sorted({r.steps for r in runs})
    if counts != [steps]:
        raise fail(
            "steps_ignored",
            tried,
            f"every model trained for steps={steps} steps",
            f"the models were trained for {' / '.join(map(str, counts))} steps: the steps argument is not passed on",
            "train(..., steps=steps, ...)",
        )
    if {r.depth for r in runs} != set(depths):
        raise fail(
            "depth_ignored",
            tried,
            f"models with {' and '.join(map(str, depths))} Linear layers",
            f"the trained models have {sorted({r.depth for r in runs})} Linear layers: the depth is not passed to the "
            "model",
            "build ResidualMLP(depth) inside the loop over depths",
        )
    if len(runs) != 2 * len(depths):
        raise fail(
            "run_count",
            tried,
            f"{2 * len(depths)} training runs, one per kind and depth",
            f"{len(runs)} models were trained",
            "loop over the two kinds and over depths, one model per pair",
        )
    if not any("off" in r.skips for r in runs) and (
        result["plain"] == result["residual"] or all("on" in r.skips for r in runs)
    ):
        raise fail(
            "skips_not_off",
            tried,
            "the plain runs trained with every skip switched off",
            "every model trained with its skips on: the skips were never switched off",
            "for the plain run: set_skips(model, False) right after building the model",
        )
    pairs: dict[tuple[str, int], _Run] = {}
    for r in runs:
        kind = {"on": "residual", "off": "plain"}.get(r.kind())
        if kind is None:
            if r.kind() == "mixed":
                raise fail(
                    "skips_mixed",
                    tried,
                    "all skips on (residual) or all off (plain) in each run",
                    "a model trained with some skips on and some off",
                    "set_skips(model, False) switches every block",
                )
            continue
        if (kind, r.depth) in pairs:
            raise fail(
                "run_count",
                tried,
                "one run per kind and depth",
                f"two {kind} models of depth {r.depth} were trained",
                "one model per (kind, depth)",
            )
        pairs[(kind, r.depth)] = r
    for depth in depths:
        a, b = pairs.get(("plain", depth)), pairs.get(("residual", depth))
        if a is not None and b is not None and not _same_state(a.first_state, b.first_state):
            raise fail(
                "seeded_once",
                tried,
                "the plain and the residual net of each depth starting from the same weights",
                f"the plain and residual nets of depth {depth} start from different weights: the seed is not set "
                "right before each model is built (set once at the top, or once per kind?)",
                "torch.manual_seed(seed) inside the inner loop, immediately before building the model",
            )
    for r in pairs.values():
        if replay:
            _replay(r, rec, tried)
    for (kind, depth), r in pairs.items():
        value = result[kind][depth]
        if not r.known:
            continue
        final = r.final_loss()
        if _near(value, final):
            continue
        other = pairs.get(("residual" if kind == "plain" else "plain", depth))
        if other is not None and other.known and _near(value, other.final_loss()):
            raise fail(
                "kinds_swapped",
                tried,
                f"result[{kind!r}][{depth}] from the {kind} run",
                f"it holds the final loss of the {'residual' if kind == 'plain' else 'plain'} run: the kinds are "
                "swapped",
                "store each run's loss under its own kind",
            )
        it_is = f"the value {fmt(value)} is"
        candidates = [
            (
                "last_batch_loss",
                r.losses[-1],
                f"{it_is} the loss of the LAST mini-batch only (history.loss[-1])",
                "history.final_loss(): the mean over the last 10 steps, less noisy than one batch",
            ),
            (
                "mean_loss",
                sum(r.losses) / len(r.losses),
                f"{it_is} the mean loss over ALL training steps",
                "history.final_loss(): the mean over the last 10 steps only",
            ),
            (
                "first_loss",
                r.losses[0],
                f"{it_is} the loss of the FIRST step, before any training",
                "history.final_loss() after training",
            ),
            (
                "test_loss",
                evaluate(r.model, rec.x_test, rec.y_test).loss,
                f"{it_is} the TEST loss of the trained model "
                "(evaluate on digits.x_test): degradation is about the training loss",
                "history.final_loss()",
            ),
            (
                "train_set_loss",
                evaluate(r.model, rec.x_train, rec.y_train).loss,
                f"{it_is} the loss of the trained model on the whole training set in eval mode, not the final "
                "training loss of the run",
                "history.final_loss(): the mean training loss over the last 10 steps",
            ),
        ]
        raise_first_match(
            value,
            candidates,
            tried,
            f"result[{kind!r}][{depth}] = the final training loss of that run, {fmt(final)}",
            near=_near,
        )
        raise fail(
            "wrong_loss",
            tried,
            f"result[{kind!r}][{depth}] = the final training loss of that run, {fmt(final)} "
            "(the mean over its last 10 steps)",
            f"the value is {fmt(value)}: not a loss this run measured",
            "store history.final_loss() of the history that train(...) returned for this run",
        )
    return pairs


def _replay(run: _Run, rec: _Recorder, tried: str) -> None:
    """Train a copy from the run's first weights on the run's own batches with train()'s defaults
    (SGD, lr 0.05, momentum 0.9): its losses must be the run's."""
    if not run.known or len(run.losses) < 3 or any(b is None for b in run.batches[:3]):
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the run itself (the check's sandbox): the same round-off
    try:
        losses = _replayed_losses(run, rec)
    finally:
        torch.set_num_threads(threads)
    if not all(abs(a - b) <= 1e-3 * max(1.0, abs(b)) for a, b in zip(losses, run.losses[:3])):
        raise fail(
            "hyperparameters",
            tried,
            "training with train()'s defaults: SGD, lr 0.05, momentum 0.9, batch 128",
            f"from the same weights and batches, the run's losses ({', '.join(fmt(v) for v in run.losses[:3])}) "
            f"differ from train()'s ({', '.join(fmt(v) for v in losses)}): another learning rate, momentum or "
            "optimiser",
            "train(model, digits.x_train, digits.y_train, steps=steps, seed=seed, progress=False), nothing else",
        )


def _replayed_losses(run: _Run, rec: _Recorder) -> list[float]:
    model = copy.deepcopy(run.model)
    model.load_state_dict(run.first_state)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = rec.x_train.to(next(model.parameters()).dtype), rec.y_train
    losses = []
    for batch in run.batches[:3]:
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))


def check_degradation(experiment: Callable) -> None:
    """Check a student's ``degradation_experiment(depths, steps=200, seed=0)``: its protocol on short
    runs, then its outcome on depths 4 and 32 (100 steps)."""
    require_function(
        experiment,
        "check_degradation",
        EXPERIMENT,
        f"{EXPERIMENT}(depths, steps=200, seed=0)",
        f"{EXPERIMENT}((4, 32), steps=100, seed=0)",
        (4, 32),
        steps=100,
        seed=0,
    )
    # 1. The protocol, on short runs: 12 steps tell the last 10 from the last one and from all.
    depths, steps = (4, 6), 12
    tried = f"{EXPERIMENT}(depths={depths}, steps={steps}, seed=1)"
    result, rec = _record(experiment, tried, depths, steps, 1)
    _check_result(result, depths, tried)
    pairs = _protocol(result, rec, depths, steps, tried)
    # 2. The seed: another seed must give other initial weights and another batch order.
    tried2 = f"{EXPERIMENT}(depths=(4,), steps={steps}, seed=2) after {tried}"
    result2, rec2 = _record(experiment, tried2, (4,), steps, 2)
    _check_result(result2, (4,), tried2)
    pairs2 = _protocol(result2, rec2, (4,), steps, tried2)
    a, b = pairs.get(("residual", 4)), pairs2.get(("residual", 4))
    if a is not None and b is not None:
        if _same_state(a.first_state, b.first_state):
            raise fail(
                "constant_seed",
                tried2,
                "other initial weights for another seed",
                "seed=1 and seed=2 build the same initial weights: the seed argument is not used "
                "(a constant such as torch.manual_seed(0)?)",
                "torch.manual_seed(seed), with the function's argument",
            )
        if a.first_batch == b.first_batch:
            raise fail(
                "train_seed_constant",
                tried2,
                "another mini-batch order for another seed",
                "seed=1 and seed=2 train on the same mini-batches: train(...) is not given the seed",
                "train(..., seed=seed, ...)",
            )
    # 3. The outcome.
    tried = f"{EXPERIMENT}(depths=(4, 32), steps=100, seed=0)"
    result, rec = _record(experiment, tried, (4, 32), 100, 0)
    _check_result(result, (4, 32), tried)
    _protocol(result, rec, (4, 32), 100, tried, replay=False)
    plain, residual = result["plain"], result["residual"]
    if all(v > 2.0 for d in result.values() for v in d.values()):
        raise fail(
            "not_trained",
            tried,
            "training losses well below ln 10 = 2.3 for the shallow nets",
            "every loss is above 2.0: the models did not learn",
            "train with train()'s defaults (lr 0.05, momentum 0.9)",
        )
    if plain == residual:
        raise fail(
            "skips_not_off",
            tried,
            "different losses for the plain and the residual nets",
            "plain and residual results are identical: the skips were never switched off",
            "for the plain run: set_skips(model, False) right after building the model",
        )
    if not (plain[32] > 3 * plain[4] and plain[32] > 0.3 and residual[32] < plain[32] / 3):
        raise fail(
            "no_degradation",
            tried,
            "the plain 32-layer net to train much worse than the 4-layer one, and the residual 32-layer net much "
            "better",
            f"plain: {fmt(plain[4])} (depth 4) vs {fmt(plain[32])} (depth 32); residual 32: {fmt(residual[32])}",
            "train with train()'s defaults (lr 0.05, momentum 0.9, batch 128); the models are the ResidualMLP above",
        )
    passed(
        "Your experiment follows the protocol (fresh seeded models, training data, the given steps, the final "
        "training loss) and shows degradation: the plain net trains worse at depth 32 than at 4, the residual net does "
        "not."
    )
