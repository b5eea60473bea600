"""Exercise 6: the lesion study of Veit et al. 2016 ("Residual networks behave like ensembles
of relatively shallow networks"): delete one block, keep its shortcut, measure accuracy.

:func:`reference_lesion` is the checks' own reference (deleting block ``index`` of
``model.blocks`` leaves its identity shortcut: the block becomes ``nn.Identity()``).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable

import torch
from torch import nn

from ..data import load_digits
from ..models import MLPStack
from ..train import evaluate, train
from ..validate import check_int, check_module
from ._harness import call, close, randomise_batchnorm, sandbox
from .failure import fail, passed


def reference_lesion(model: nn.Module, index: int) -> nn.Module:
    """A copy of ``model`` whose block ``model.blocks[index]`` is deleted, keeping its shortcut.

    For the course's MLP stacks every block keeps the width, so the shortcut is the identity;
    a block with a ``shortcut`` module (the CNN blocks) is replaced by that shortcut.
    """
    check_module("model", model)
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential):
        raise TypeError("model must keep its blocks in an nn.Sequential called 'blocks' (as resnet_edu.models.MLPStack)")
    check_int("index", index, 0)
    if index >= len(blocks):
        raise ValueError(f"index must be below the number of blocks ({len(blocks)}), got {index}")
    lesioned = copy.deepcopy(model)
    shortcut = getattr(lesioned.blocks[index], "shortcut", None)
    lesioned.blocks[index] = shortcut if isinstance(shortcut, nn.Module) else nn.Identity()
    return lesioned


def _snapshot(model: nn.Module) -> tuple:
    return (
        [id(b) for b in model.blocks],
        [getattr(b, "skip", None) for b in model.blocks],
        {k: v.clone() for k, v in model.state_dict().items()},
        model.training,
    )


def _unchanged(model: nn.Module, snap: tuple) -> bool:
    ids, skips, state, training = snap
    now = model.state_dict()
    return (
        [id(b) for b in model.blocks] == ids
        and [getattr(b, "skip", None) for b in model.blocks] == skips
        and set(now) == set(state)
        and all(torch.equal(now[k], state[k]) for k in state)
        and model.training == training
    )


def _modified(tried: str) -> Exception:
    return fail("modified_original", tried, "the original model left exactly as it was (a lesion works on a copy)",
                "the function changed the model it was given: its blocks, their skip flags, its weights or its mode",
                "start with lesioned = copy.deepcopy(model) and change only the copy")



def check_lesion(function: Callable) -> None:
    """Check a student's ``lesion(model, index) -> nn.Module`` against :func:`reference_lesion`."""
    if not callable(function) or isinstance(function, type):
        raise fail("not_a_function", f"check_lesion({function!r:.40})", "the function lesion",
                   "something else was passed", "pass lesion without parentheses")
    try:
        inspect.signature(function).bind(None, 0)
    except TypeError:
        raise fail("signature", "lesion(model, 0)", "the signature lesion(model, index)",
                   f"the signature is lesion{inspect.signature(function)}", "keep the exercise's signature") from None
    with sandbox(8) as g:
        for block in ("residual", "plain"):
            model = MLPStack(8, width=6, block=block, in_features=5, num_classes=3).double().eval()
            randomise_batchnorm(model, g, running_stats=True)
            x = torch.randn(16, 5, generator=g, dtype=torch.float64)
            with torch.no_grad():
                full = model(x)
            for index in range(len(model.blocks)):
                tried = f"lesion(model, {index}) with model = MLPStack(8, width=6, block={block!r}), 3 blocks"
                snap = _snapshot(model)
                lesioned = call("lesion", tried, function, model, index)
                if lesioned is None:
                    raise fail("returns_none", tried, "the lesioned copy of the model", "the function returned None",
                               "end with 'return lesioned'")
                if not isinstance(lesioned, nn.Module):
                    raise fail("not_a_module", tried, "an nn.Module", f"it returned a {type(lesioned).__name__}",
                               "return the modified copy of the model")
                if not _unchanged(model, snap):
                    raise _modified(tried)
                lesioned.eval()
                with torch.no_grad():
                    got = lesioned(x)
                    want = reference_lesion(model, index)(x)
                if close(got, want):
                    continue
                with torch.no_grad():
                    if close(got, full):
                        raise fail("nothing_deleted", tried, f"block {index} replaced by its shortcut (the identity)",
                                   "the returned model computes exactly the original model: nothing was deleted",
                                   "lesioned.blocks[index] = nn.Identity()")
                    if block == "residual":
                        off = copy.deepcopy(model)
                        off.blocks[index].skip = False
                        if close(got, off(x)):
                            raise fail("skip_off", tried, "the block's BRANCH deleted and its shortcut kept",
                                       "you switched the block's skip off: that deletes the shortcut and keeps the "
                                       "branch, the opposite of a lesion", "replace the whole block: lesioned.blocks[index] = nn.Identity()")
                    for other in (index - 1, index + 1):
                        if 0 <= other < len(model.blocks) and close(got, reference_lesion(model, other)(x)):
                            raise fail("off_by_one", tried, f"block {index} deleted (counting from 0)",
                                       f"block {other} was deleted instead", "use model.blocks[index], with index from 0")
                raise fail("wrong_output", tried, f"the original model with block {index} replaced by the identity",
                           "the lesioned model computes something else (did you change weights instead of the block?)",
                           "lesioned = copy.deepcopy(model); lesioned.blocks[index] = nn.Identity()")
    passed("lesion deletes one block, keeps its shortcut, and leaves the original model untouched.")


def check_lesion_study(function: Callable) -> None:
    """Check a student's ``lesion_study(model, x, y) -> list[float]`` (test accuracy without each block)."""
    if not callable(function) or isinstance(function, type):
        raise fail("not_a_function", f"check_lesion_study({function!r:.40})", "the function lesion_study",
                   "something else was passed", "pass lesion_study without parentheses")
    try:
        inspect.signature(function).bind(None, None, None)
    except TypeError:
        raise fail("signature", "lesion_study(model, x, y)", "the signature lesion_study(model, x, y)",
                   f"the signature is lesion_study{inspect.signature(function)}", "keep the exercise's signature") from None
    with sandbox(9):
        digits = load_digits(dtype=torch.float64)
        model = MLPStack(10, width=16, block="residual").double()
        train(model, digits.x_train, digits.y_train, steps=40, progress=False)
        model.eval()
        n = len(model.blocks)
        tried = f"lesion_study(model, x_test, y_test) with a trained MLPStack(10, width=16, block='residual'), {n} blocks"
        lesioned = [reference_lesion(model, i) for i in range(n)]
        expected = [evaluate(m, digits.x_test, digits.y_test).accuracy for m in lesioned]
        snap = _snapshot(model)
        result = call("lesion_study", tried, function, model, digits.x_test, digits.y_test)
        if not _unchanged(model, snap):
            raise _modified(tried)
        if result is None:
            raise fail("returns_none", tried, f"a list of {n} accuracies", "the function returned None", "end with 'return accuracies'")
        if not isinstance(result, (list, tuple)):
            raise fail("not_a_list", tried, f"a list of {n} accuracies", f"it returned a {type(result).__name__}",
                       "accuracies = [...] with one entry per block")
        if len(result) != n:
            raise fail("length", tried, f"{n} accuracies, one per block of model.blocks (the stem and head are not blocks)",
                       f"the list has {len(result)} entries", "for index in range(len(model.blocks)): ...")
        if any(isinstance(v, torch.Tensor) or not isinstance(v, (int, float)) for v in result):
            raise fail("not_floats", tried, "plain Python floats between 0 and 1",
                       f"an entry is a {type(next(v for v in result if not isinstance(v, float))).__name__}",
                       "use evaluate(...).accuracy, a float")
        values = [float(v) for v in result]

        def same(candidate: list[float]) -> bool:
            return all(abs(a - b) < 1e-9 for a, b in zip(values, candidate))

        if same(expected):
            passed("lesion_study measures the test accuracy with each block deleted in turn.")
            return
        if same([100 * v for v in expected]):
            raise fail("percent", tried, "accuracies as fractions between 0 and 1 (as evaluate returns them)",
                       "the values are percentages", "do not multiply by 100")
        if same([evaluate(m, digits.x_test, digits.y_test).loss for m in lesioned]):
            raise fail("losses", tried, "test ACCURACY with each block deleted", "the values are the test losses",
                       "use evaluate(lesioned, x, y).accuracy")
        train_mode = []
        with torch.no_grad():
            for m in lesioned:
                m.train()
                train_mode.append((m(digits.x_test).argmax(1) == digits.y_test).double().mean().item())
        if same(train_mode):
            raise fail("train_mode", tried, "accuracy in eval mode (BatchNorm uses its running statistics)",
                       "the accuracies are measured in training mode: BatchNorm normalises with the test batch's statistics",
                       "use resnet_edu.train.evaluate, which switches to eval mode")
        if same([evaluate(model, digits.x_test, digits.y_test).accuracy] * n):
            raise fail("not_lesioned", tried, "a different model for each entry: the model without block i",
                       "every value is the accuracy of the intact model", "evaluate lesion(model, index), not model")
        raise fail("wrong_values", tried, f"{[round(v, 3) for v in expected]}",
                   f"got {[round(v, 3) for v in values]}",
                   "accuracies = [evaluate(lesion(model, i), x, y).accuracy for i in range(len(model.blocks))]")
