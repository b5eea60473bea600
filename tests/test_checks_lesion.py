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


def lesion_delete_block(model, index):
    """The package's one lesion."""
    from resnet_edu.models import delete_block

    return delete_block(model, index)


def lesion_eval_first(model, index):
    """Switches the given model to eval mode first (harmless), keeps the shortcut module."""
    model.eval()
    lesioned = copy.deepcopy(model)
    lesioned.blocks[index] = copy.deepcopy(getattr(lesioned.blocks[index], "shortcut", None) or nn.Identity())
    return lesioned


@pytest.mark.parametrize("fn", [lesion, lesion_by_rebuilding, reference_lesion, lesion_delete_block, lesion_eval_first])
def test_correct_lesions_pass(fn, capsys):
    check_lesion(fn)
    one_line(capsys)


def study_eval_by_hand(model, x, y):
    """Counts correct answers in float32 and divides by the total (float32 round-off must pass)."""
    out = []
    for i in range(len(model.blocks)):
        m = lesion(model, i).eval()
        with torch.no_grad():
            correct = (m(x).argmax(dim=1) == y).sum()
        out.append((correct.float() / torch.tensor(float(len(y)))).item())
    return out


def study_model_eval_once(model, x, y):
    model.eval()
    accuracies = []
    for i, _ in enumerate(model.blocks):
        with torch.no_grad():
            pred = lesion(model, i)(x).argmax(1)
        accuracies.append(float((pred == y).float().mean()))
    return accuracies


def study_tuple_of_python_fractions(model, x, y):
    def acc(m):
        m.eval()
        with torch.no_grad():
            return sum(int(p == t) for p, t in zip(m(x).argmax(1).tolist(), y.tolist())) / len(y)

    return tuple(acc(lesion(model, i)) for i in range(len(model.blocks)))


@pytest.mark.parametrize(
    "fn", [lesion_study, study_eval_by_hand, study_model_eval_once, study_tuple_of_python_fractions]
)
def test_correct_study_passes(fn, capsys):
    check_lesion_study(fn)
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


def wraps_to_last(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks[index - 1] = nn.Identity()
    return lesioned


def truncates(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks = lesioned.blocks[:index]
    return lesioned


def two_blocks(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks[index] = nn.Identity()
    if index + 1 < len(lesioned.blocks):
        lesioned.blocks[index + 1] = nn.Identity()
    return lesioned


def new_block(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks[index] = type(model.blocks[index])(model.blocks[index].fc1.in_features)
    return lesioned


def returns_original(model, index):
    return model


def returns_list(model, index):
    return list(lesion(model, index).blocks)


def shallow_copy(model, index):
    lesioned = copy.copy(model)
    lesioned.blocks[index] = nn.Identity()
    return lesioned


def head_removed(model, index):
    lesioned = lesion(model, index)
    lesioned.head = nn.Identity()
    return lesioned


def zero_bn(model, index):
    lesioned = copy.deepcopy(model)
    with torch.no_grad():
        for p in lesioned.blocks[index].parameters():
            p.mul_(0.5)
    return lesioned


def wrong_signature(model):
    return model


def first_block_always(model, index):
    return lesion(model, 0)


def negative_index(model, index):
    lesioned = copy.deepcopy(model)
    lesioned.blocks[-index - 1] = nn.Identity()
    return lesioned


def bn2_zeroed(model, index):
    lesioned = copy.deepcopy(model)
    with torch.no_grad():
        lesioned.blocks[index].bn2.weight.zero_()
    return lesioned


LESION_MISTAKES = [
    (negative_index, "off_by_one", "block 2 was deleted instead of block 0"),
    (bn2_zeroed, "weights_changed", "changed weights"),
    (wraps_to_last, "off_by_one", "wraps around to the last block"),
    (truncates, "blocks_truncated", "were all deleted"),
    (two_blocks, "two_blocks", "were all deleted"),
    (new_block, "replaced_by_new_layer", "fresh weights"),
    (returns_original, "modified_original", "returned the model it was given"),
    (returns_list, "not_a_module", "list"),
    (shallow_copy, "modified_original", "not on a copy"),
    (head_removed, "wrong_output", "stem or head changed"),
    (zero_bn, "weights_changed", "changed weights"),
    (wrong_signature, "signature", "signature"),
    (first_block_always, "off_by_one", "block 0 was deleted instead of block 1"),
    (stub, "not_started", NOT_STARTED),
    (in_place, "modified_original", "deep copy"),
    (skip_off, "skip_off", "opposite of a lesion"),
    (off_by_one, "off_by_one", "was deleted instead"),
    (nothing, "nothing_deleted", "nothing was deleted"),
    (returns_none, "returns_none", "returned None"),
    (zero_weights, "weights_changed", "set to zero"),
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


def study_percent_rounded(model, x, y):
    return [round(100 * a, 1) for a in lesion_study(model, x, y)]


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


def study_counts(model, x, y):
    return [a * len(y) for a in study_eval_by_hand(model, x, y)]


def study_error_rate(model, x, y):
    return [1 - a for a in lesion_study(model, x, y)]


def study_reversed(model, x, y):
    return lesion_study(model, x, y)[::-1]


def study_cumulative(model, x, y):
    lesioned = copy.deepcopy(model)
    out = []
    for i in range(len(model.blocks)):
        lesioned.blocks[i] = nn.Identity()
        out.append(evaluate(lesioned, x, y).accuracy)
    return out


def study_dict(model, x, y):
    return dict(enumerate(lesion_study(model, x, y)))


def study_skip_off(model, x, y):
    out = []
    for i in range(len(model.blocks)):
        m = copy.deepcopy(model)
        m.blocks[i].skip = False
        out.append(evaluate(m, x, y).accuracy)
    return out


def study_returns_none(model, x, y):
    lesion_study(model, x, y)


def study_off_by_one(model, x, y):
    n = len(model.blocks)
    return [evaluate(lesion(model, (i + 1) % n), x, y).accuracy for i in range(n)]


def study_drops(model, x, y):
    base = evaluate(model, x, y).accuracy
    return [base - a for a in lesion_study(model, x, y)]


def study_subset(model, x, y):
    return [evaluate(lesion(model, i), x[:100], y[:100]).accuracy for i in range(len(model.blocks))]


STUDY_MISTAKES = [
    (study_drops, "drops", "DROPS"),
    (study_subset, "wrong_values", "another data set"),
    (study_counts, "counts", "counts of correct answers"),
    (study_error_rate, "error_rate", "error rates"),
    (study_reversed, "reversed", "reverse block order"),
    (study_cumulative, "cumulative", "pile up"),
    (study_dict, "not_a_list", "dict"),
    (study_skip_off, "wrong_values", "Likely causes"),
    (study_returns_none, "returns_none", "returned None"),
    (study_off_by_one, "off_by_one", "block i + 1"),
    (study_stub, "not_started", NOT_STARTED),
    (study_percent, "percent", "percentages"),
    (study_losses, "losses", "test LOSSES"),
    (study_train_mode, "train_mode", "training mode"),
    (study_not_lesioned, "not_lesioned", "intact model"),
    (study_with_stem_and_head, "length", "stem and head are not blocks"),
    (study_tensors, "not_floats", "Tensor"),
    (study_percent_rounded, "percent", "percentages"),
    (study_modifies_model, "modified_original", "block 0 of the model it was given was replaced"),
]


@pytest.mark.parametrize("fn, mistake, phrase", STUDY_MISTAKES, ids=[m[0].__name__ for m in STUDY_MISTAKES])
def test_study_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_lesion_study(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


@pytest.mark.parametrize("block", ["residual", "plain"])
def test_reference_agrees_with_the_lessons_probe(block):
    """The checks' reference and resnet_edu.models.delete_block (lesson 07) compute the same lesion."""
    from resnet_edu.models import delete_block

    torch.manual_seed(0)
    model = MLPStack(8, width=6, block=block, in_features=5, num_classes=3).eval()
    x = torch.randn(16, 5)
    with torch.no_grad():
        for index in range(len(model.blocks)):
            mine, theirs = reference_lesion(model, index)(x), delete_block(model, index).eval()(x)
            assert torch.allclose(mine, theirs, atol=1e-6)
            assert not torch.allclose(mine, model(x), atol=1e-3)
