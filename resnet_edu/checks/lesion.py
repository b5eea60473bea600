"""Exercise 6: the lesion study of Veit et al. 2016 ("Residual networks behave like ensembles
of relatively shallow networks"): delete one block, keep its shortcut, measure accuracy.

:func:`reference_lesion` is :func:`resnet_edu.models.delete_block`, the course's one lesion: block
``index`` (of :func:`resnet_edu.models.find_blocks`, for the MLP stacks ``model.blocks[index]``)
is replaced by its shortcut, ``nn.Identity()`` for these blocks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..data import load_digits
from ..models import MLPStack, delete_block, delete_blocks, find_blocks
from ..train import evaluate, train
from ._harness import (
    call,
    close,
    fmt,
    randomise_batchnorm,
    require_function,
    require_list,
    require_numbers,
    sandbox,
)
from .failure import fail, passed


def reference_lesion(model: nn.Module, index: int) -> nn.Module:
    """A copy of ``model`` whose ``index``-th block is deleted, keeping its shortcut.

    The one lesion of the course, :func:`resnet_edu.models.delete_block` (kept under this name
    for the notebooks that import it from here).
    """
    return delete_block(model, index)


def _snapshot(model: nn.Module) -> tuple:
    """What a lesion must leave alone: the blocks, their skip flags, the weights and statistics.
    (The train/eval mode is not part of it: switching the given model to eval mode is harmless.)"""
    return (
        [id(b) for b in model.blocks],
        [getattr(b, "skip", None) for b in model.blocks],
        {k: v.clone() for k, v in model.state_dict().items()},
    )


def _change(model: nn.Module, snap: tuple) -> str | None:
    """What the function changed in the model it was given (None: nothing)."""
    ids, skips, state = snap
    now_ids = [id(b) for b in model.blocks]
    if now_ids != ids:
        changed = [i for i, (a, b) in enumerate(zip(ids, now_ids)) if a != b]
        where = f"block {changed[0]}" if changed else "its list of blocks"
        return f"{where} of the model it was given was replaced: the lesion was done on the original, not on a copy"
    now_skips = [getattr(b, "skip", None) for b in model.blocks]
    if now_skips != skips:
        return "a skip flag of the original model was changed"
    now = model.state_dict()
    changed = [k for k in state if k not in now or not torch.equal(now[k], state[k])]
    if changed or set(now) != set(state):
        return f"the original model's weights changed ({(changed or sorted(set(now) ^ set(state)))[0]})"
    return None


def _modified(tried: str, what: str) -> Exception:
    return fail(
        "modified_original",
        tried,
        "the original model left exactly as it was (a lesion works on a copy)",
        what,
        "start from a deep copy of the model (copy.deepcopy) and change only the copy",
    )


def _proportional(a: torch.Tensor, b: torch.Tensor) -> bool:
    """``a`` is ``b`` times a constant (a scaled or zeroed copy of the same weights)."""
    a, b = a.double().flatten(), b.double().flatten()
    if a.shape != b.shape or not b.abs().max() > 0:
        return False
    c = (a @ b) / (b @ b)
    return bool((a - c * b).abs().max() <= 1e-9 * max(1.0, b.abs().max().item()))


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def check_lesion(function: Callable) -> None:
    """Check a student's ``lesion(model, index) -> nn.Module`` against :func:`reference_lesion`."""
    require_function(function, "check_lesion", "lesion", "lesion(model, index)", "lesion(model, 0)", None, 0)
    with sandbox(8) as g:
        for block, depth, width in (("residual", 8, 6), ("plain", 8, 6), ("residual", 10, 5)):
            model = MLPStack(depth, width=width, block=block, in_features=5, num_classes=3).double().eval()
            randomise_batchnorm(model, g, running_stats=True)
            x = torch.randn(16, 5, generator=g, dtype=torch.float64)
            full = _forward(model, x)
            n = len(find_blocks(model))
            singles = [_forward(reference_lesion(model, j), x) for j in range(n)]
            for index in range(n):
                tried = (
                    f"lesion(model, {index}) with model = MLPStack({depth}, width={width}, block={block!r}), {n} blocks"
                )
                snap = _snapshot(model)
                lesioned = call("lesion", tried, function, model, index)
                if lesioned is None:
                    raise fail(
                        "returns_none",
                        tried,
                        "the lesioned copy of the model",
                        "the function returned None",
                        "return the lesioned copy at the end",
                    )
                if not isinstance(lesioned, nn.Module):
                    raise fail(
                        "not_a_module",
                        tried,
                        "an nn.Module",
                        f"it returned a {type(lesioned).__name__}",
                        "return the modified copy of the model",
                    )
                what = _change(model, snap)
                if what:
                    raise _modified(tried, what)
                if lesioned is model:
                    raise _modified(tried, "the function returned the model it was given")
                lesioned.eval()
                with torch.no_grad():
                    got = call("the lesioned model", tried + ", then the returned model on x", lesioned, x)
                if close(got, singles[index]):
                    continue
                if close(got, full):
                    raise fail(
                        "nothing_deleted",
                        tried,
                        f"block {index} replaced by its shortcut (the identity)",
                        "the returned model computes exactly the original model: nothing was deleted",
                        f"replace block {index} of the copy's blocks by nn.Identity()",
                    )
                if block == "residual":
                    off = copy.deepcopy(model)
                    off.blocks[index].skip = False
                    if close(got, _forward(off, x)):
                        raise fail(
                            "skip_off",
                            tried,
                            "the block's BRANCH deleted and its shortcut kept",
                            "you switched the block's skip off: that deletes the shortcut and keeps the "
                            "branch, the opposite of a lesion",
                            "replace the whole block by nn.Identity()",
                        )
                for other in range(n):
                    if other != index and close(got, singles[other]):
                        raise fail(
                            "off_by_one" if abs(other - index) == 1 or other == n - 1 else "wrong_block",
                            tried,
                            f"block {index} deleted (counting from 0 in model.blocks)",
                            f"block {other} was deleted instead of block {index}"
                            + (
                                " (index - 1 wraps around to the last block for index 0)"
                                if index == 0 and other == n - 1
                                else ""
                            ),
                            "delete the block at position index of model.blocks, counting from 0",
                        )
                for name, indices in (
                    ("blocks_truncated", range(index, n)),
                    ("blocks_before_deleted", range(index + 1)),
                    ("two_blocks", [index, index + 1] if index + 1 < n else []),
                ):
                    if len(indices) > 1 and close(got, _forward(delete_blocks(model, indices), x)):
                        raise fail(
                            name,
                            tried,
                            f"only block {index} deleted",
                            f"blocks {', '.join(map(str, indices))} were all deleted",
                            "replace exactly one block",
                        )
                blocks = list(getattr(lesioned, "blocks", []))
                if len(blocks) == n and all(any(True for _ in m.parameters()) for m in blocks):
                    mine, theirs = blocks[index].state_dict(), model.blocks[index].state_dict()
                    fresh = set(mine) == set(theirs) and all(
                        not torch.equal(mine[k], theirs[k]) and not _proportional(mine[k], theirs[k])
                        for k in mine
                        if k.endswith("weight") and mine[k].dim() >= 2
                    )
                    if (
                        set(mine) == set(theirs)
                        and not fresh
                        and not all(torch.equal(mine[k], theirs[k]) for k in mine)
                    ):
                        raise fail(
                            "weights_changed",
                            tried,
                            f"block {index} replaced by its shortcut, which has no weights",
                            f"block {index} is still there with changed weights (set to zero?): a lesion removes the "
                            "whole block, and a block with zero weights still computes something (BatchNorm's shift, "
                            "the ReLU)",
                            f"replace block {index} of the copy by nn.Identity()",
                        )
                    raise fail(
                        "replaced_by_new_layer",
                        tried,
                        f"block {index} replaced by its shortcut, which has no weights",
                        f"the lesioned model still has {n} blocks with weights: block {index} was replaced by a "
                        "new layer or block with fresh weights, not by the identity",
                        "nn.Identity() has no weights: the input passes unchanged",
                    )
                raise fail(
                    "wrong_output",
                    tried,
                    f"the original model with block {index} replaced by the identity",
                    "the lesioned model computes neither the original, nor the original without one block; "
                    "likely causes: the block replaced by something other than its shortcut, or the stem or head "
                    "changed",
                    f"copy the model, then set block {index} of the copy's blocks to nn.Identity()",
                )
    passed("lesion deletes one block, keeps its shortcut, and leaves the original model untouched.")


TOL = 2e-4  # a quarter of one test example (1/597): any float32 or float64 count / total passes


def check_lesion_study(function: Callable) -> None:
    """Check a student's ``lesion_study(model, x, y) -> list[float]`` (test accuracy without each block).

    The model is handed over in TRAINING mode (as it is right after train()), so a study that
    never switches to eval mode measures BatchNorm with the test batch's statistics and fails.
    """
    signature = "lesion_study(model, x, y)"
    require_function(function, "check_lesion_study", "lesion_study", signature, signature, None, None, None)
    with sandbox(9):
        digits = load_digits(dtype=torch.float64)
        model = MLPStack(10, width=16, block="residual").double()
        train(model, digits.x_train, digits.y_train, steps=40, progress=False)
        model.train()  # as train() leaves it
        n = len(model.blocks)
        tried = (
            f"lesion_study(model, x_test, y_test) with a trained MLPStack(10, width=16, block='residual'), "
            f"{n} blocks, handed over in training mode"
        )
        x, y = digits.x_test, digits.y_test

        def accuracy(m: nn.Module) -> float:
            return evaluate(m, x, y).accuracy

        lesioned = [reference_lesion(model, i) for i in range(n)]
        expected = [accuracy(m) for m in lesioned]
        snap = _snapshot(model)
        result = call("lesion_study", tried, function, model, x, y)
        what = _change(model, snap)
        if what:
            raise _modified(tried, what)
        if isinstance(result, dict):
            raise fail(
                "not_a_list",
                tried,
                f"a list of {n} accuracies, entry i for block i",
                "it returned a dict",
                "return a list: one accuracy per block, in block order",
            )
        require_list(
            result,
            tried,
            f"a list of {n} accuracies",
            "return the list of accuracies at the end",
            "collect one accuracy per block in a list",
        )
        if len(result) != n:
            extra = " (the stem and head are not blocks)" if len(result) > n else ""
            raise fail(
                "length",
                tried,
                f"{n} accuracies, one per block of model.blocks{extra}",
                f"the list has {len(result)} entries",
                "loop over range(len(model.blocks))",
            )
        require_numbers(result, tried, "plain Python floats between 0 and 1", "use evaluate(...).accuracy, a float")
        values = [float(v) for v in result]

        def matches(candidate: list[float], tol: float = TOL) -> bool:
            return all(abs(a - b) <= tol for a, b in zip(values, candidate))

        if matches(expected):
            passed("lesion_study measures the test accuracy, in eval mode, with each block deleted in turn.")
            return
        shown = f"expected {[round(v, 4) for v in expected]}, got {[round(v, 4) for v in values]}"
        candidates = [
            (
                "percent",
                [100 * v for v in expected],
                "the values are percentages (times 100)",
                "keep fractions between 0 and 1, as evaluate returns them",
            ),
            (
                "counts",
                [v * len(y) for v in expected],
                "the values are counts of correct answers, not fractions",
                "divide by the number of examples (or use evaluate(...).accuracy)",
            ),
            (
                "error_rate",
                [1 - v for v in expected],
                "the values are error rates (1 - accuracy)",
                "report the accuracy",
            ),
            (
                "losses",
                [evaluate(m, x, y).loss for m in lesioned],
                "the values are the test LOSSES",
                "use evaluate(lesioned, x, y).accuracy",
            ),
            ("reversed", expected[::-1], "the list is in reverse block order", "entry i is the model without block i"),
        ]
        with torch.no_grad():
            train_mode = []
            for m in lesioned:
                m.train()
                train_mode.append((m(x).argmax(1) == y).double().mean().item())
        candidates.append(
            (
                "train_mode",
                train_mode,
                "the accuracies are measured in TRAINING mode: BatchNorm "
                "normalises with the test batch's own statistics instead of the running statistics",
                "switch each lesioned model to eval mode (model.eval(), or evaluate(...), which does it)",
            )
        )
        intact = accuracy(model)
        candidates.append(
            (
                "drops",
                [intact - v for v in expected],
                "the values are accuracy DROPS (intact minus lesioned)",
                "report the lesioned model's accuracy itself",
            )
        )
        candidates.append(
            (
                "not_lesioned",
                [intact] * n,
                "every value is the accuracy of the intact model",
                "evaluate the lesioned copy of the model, not the model",
            )
        )
        cumulative = [accuracy(delete_blocks(model, range(i + 1))) for i in range(n)]
        candidates.append(
            (
                "cumulative",
                cumulative,
                "entry i has blocks 0 to i all deleted: the lesions pile up on one copy",
                "start every lesion from the intact model",
            )
        )
        shifted_by_one = [expected[i + 1] if i + 1 < n else None for i in range(n)]
        if all(v is not None for v in shifted_by_one[:-1]) and matches(shifted_by_one[:-1] + [values[-1]]):
            candidates.insert(
                0, ("off_by_one", values, "entry i is the accuracy without block i + 1", "lesion block i for entry i")
            )
        for mistake, candidate, cause, hint in candidates:
            if matches(candidate, {"percent": 0.06, "counts": 0.6}.get(mistake, TOL)):
                raise fail(
                    mistake,
                    tried,
                    "test accuracies of the model without each block, in eval mode",
                    f"{cause} ({shown})",
                    hint,
                )
        worst = max(range(n), key=lambda i: abs(values[i] - expected[i]))
        raise fail(
            "wrong_values",
            tried,
            f"{[round(v, 4) for v in expected]}",
            f"got {[round(v, 4) for v in values]}; block {worst} differs most ({fmt(values[worst])} instead of "
            f"{fmt(expected[worst])}). Likely causes: another lesion, another data set, or another mode",
            "entry i: the accuracy, in eval mode, of a copy of the model with block i replaced by nn.Identity()",
        )
