"""Exercise 6's checks: the lesion (delete a block, keep its shortcut) and the lesion study."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_lesion, check_lesion_study, reference_lesion
from resnet_edu.models import MLPStack
from resnet_edu.train import evaluate


def lesion(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks[index] = nn.Identity()
    return lesioned


def lesion_by_rebuilding(model, index):
    """Removing the block from the Sequential is the same function when the width is kept."""
    lesioned = copy.deepcopy(model)
    lesioned.blocks = nn.Sequential(*(b for i, b in enumerate(lesioned.blocks) if i != index))
    return lesioned


def lesion_study(model, x, y):
    return [evaluate(lesion(model, i), x, y).accuracy for i in range(len(model.blocks))]


def one_line(capsys):
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1, out


@pytest.mark.parametrize("fn", [lesion, lesion_by_rebuilding, reference_lesion])
def test_correct_lesions_pass(fn, capsys):
    check_lesion(fn)
    one_line(capsys)


def test_correct_study_passes(capsys):
    check_lesion_study(lesion_study)
    one_line(capsys)


def test_reference_lesion_keeps_the_original():
    model = MLPStack(6, width=8, block="residual")
    before = [id(b) for b in model.blocks]
    lesioned = reference_lesion(model, 1)
    assert [id(b) for b in model.blocks] == before
    assert isinstance(lesioned.blocks[1], nn.Identity) and not isinstance(model.blocks[1], nn.Identity)
    with pytest.raises(ValueError):
        reference_lesion(model, 2)


def stub(model, index):
    raise NotImplementedError()


def in_place(model, index):
    model.blocks[index] = nn.Identity()
    return model


def skip_off(model, index):
    lesioned = copy.deepcopy(model)
    if hasattr(lesioned.blocks[index], "skip"):
        lesioned.blocks[index].skip = False
    else:
        lesioned.blocks[index] = nn.Identity()
    return lesioned


def off_by_one(model, index):
    return lesion(model, (index + 1) % len(model.blocks))


def nothing(model, index):
    return copy.deepcopy(model)


def returns_none(model, index):
    lesion(model, index)


def zero_weights(model, index):
    lesioned = copy.deepcopy(model)
    with torch.no_grad():
        lesioned.blocks[index].fc1.weight.zero_()
    return lesioned


LESION_MISTAKES = [
    (stub, "not_started", NOT_STARTED),
    (in_place, "modified_original", "copy.deepcopy"),
    (skip_off, "skip_off", "opposite of a lesion"),
    (off_by_one, "off_by_one", "was deleted instead"),
    (nothing, "nothing_deleted", "nothing was deleted"),
    (returns_none, "returns_none", "returned None"),
    (zero_weights, "wrong_output", "something else"),
]


@pytest.mark.parametrize("fn, mistake, phrase", LESION_MISTAKES, ids=[m[0].__name__ for m in LESION_MISTAKES])
def test_lesion_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_lesion(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


def study_stub(model, x, y):
    raise NotImplementedError()


def study_percent(model, x, y):
    return [100 * a for a in lesion_study(model, x, y)]


def study_losses(model, x, y):
    return [evaluate(lesion(model, i), x, y).loss for i in range(len(model.blocks))]


def study_train_mode(model, x, y):
    out = []
    for i in range(len(model.blocks)):
        m = lesion(model, i).train()
        with torch.no_grad():
            out.append((m(x).argmax(1) == y).double().mean().item())
    return out


def study_not_lesioned(model, x, y):
    return [evaluate(model, x, y).accuracy for _ in model.blocks]


def study_with_stem_and_head(model, x, y):
    return [0.1] + lesion_study(model, x, y) + [0.1]


def study_tensors(model, x, y):
    return [torch.tensor(a) for a in lesion_study(model, x, y)]


def study_modifies_model(model, x, y):
    result = lesion_study(model, x, y)
    model.blocks[0] = nn.Identity()
    return result


STUDY_MISTAKES = [
    (study_stub, "not_started", NOT_STARTED),
    (study_percent, "percent", "percentages"),
    (study_losses, "losses", "test losses"),
    (study_train_mode, "train_mode", "training mode"),
    (study_not_lesioned, "not_lesioned", "intact model"),
    (study_with_stem_and_head, "length", "stem and head are not blocks"),
    (study_tensors, "not_floats", "Tensor"),
    (study_modifies_model, "modified_original", "copy"),
]


@pytest.mark.parametrize("fn, mistake, phrase", STUDY_MISTAKES, ids=[m[0].__name__ for m in STUDY_MISTAKES])
def test_study_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_lesion_study(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


@pytest.mark.parametrize("block", ["residual", "plain"])
def test_reference_agrees_with_the_lessons_probe(block):
    """The checks' reference and resnet_edu.probes.delete_block (lesson 07) compute the same lesion."""
    from resnet_edu.probes import delete_block

    torch.manual_seed(0)
    model = MLPStack(8, width=6, block=block, in_features=5, num_classes=3).eval()
    x = torch.randn(16, 5)
    with torch.no_grad():
        for index in range(len(model.blocks)):
            mine, theirs = reference_lesion(model, index)(x), delete_block(model, index).eval()(x)
            assert torch.allclose(mine, theirs, atol=1e-6)
            assert not torch.allclose(mine, model(x), atol=1e-3)
