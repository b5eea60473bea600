"""Exercise 3's checks: the switchable residual MLP block, the stack, the degradation experiment."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_degradation, check_mlp_block, check_residual_mlp
from resnet_edu.data import load_digits
from resnet_edu.models import set_skips
from resnet_edu.train import train


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(width, width), nn.BatchNorm1d(width)
        self.fc2, self.bn2 = nn.Linear(width, width), nn.BatchNorm1d(width)
        self.skip = True

    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        if self.skip:
            out = out + x
        return F.relu(out)


class BlockInPlace(Block):
    """nn.ReLU(inplace=True) modules and out += x."""

    def __init__(self, width):
        super().__init__(width)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.bn1(self.fc1(x)))
        out = self.bn2(self.fc2(out))
        if self.skip:
            out += x
        return self.relu(out)


class Stack(nn.Module):
    def __init__(self, depth, width=64, in_features=64, num_classes=10, block=Block):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(in_features, width), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[block(width) for _ in range((depth - 2) // 2)])
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class StackModuleList(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes, BlockInPlace)
        self.blocks = nn.ModuleList(BlockInPlace(width) for _ in range((depth - 2) // 2))

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


DIGITS = load_digits()


def experiment(depths, steps=200, seed=0):
    results = {"plain": {}, "residual": {}}
    for kind in results:
        for depth in depths:
            torch.manual_seed(seed)
            model = Stack(depth)
            if kind == "plain":
                set_skips(model, False)
            history = train(model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False)
            results[kind][depth] = history.final_loss()
    return results


def one_line(capsys):
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1, out


@pytest.mark.parametrize("cls", [Block, BlockInPlace])
def test_correct_blocks_pass(cls, capsys):
    check_mlp_block(cls)
    one_line(capsys)


@pytest.mark.parametrize("cls", [Stack, StackModuleList])
def test_correct_stacks_pass(cls, capsys):
    check_residual_mlp(cls)
    one_line(capsys)


def test_correct_experiment_passes(capsys):
    check_degradation(experiment)
    one_line(capsys)


# ----- mistakes -------------------------------------------------------------------------------


class StubBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        raise NotImplementedError()


class NoSkipAttribute(Block):
    def __init__(self, width):
        super().__init__(width)
        del self.skip


class SkipIgnored(Block):
    def forward(self, x):
        return F.relu(self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x))))) + x)


class SkipOffReturnsX(Block):
    def forward(self, x):
        if not self.skip:
            return x
        return super().forward(x)


class NoFinalRelu(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return out + x if self.skip else out


class DetachedSkip(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + x.detach() if self.skip else out)


class OtherNames(Block):
    def __init__(self, width):
        super().__init__(width)
        self.linear1 = self.fc1
        del self.fc1


BLOCK_MISTAKES = [
    (StubBlock, "not_started", NOT_STARTED),
    (NoSkipAttribute, "skip_attribute", "self.skip = True"),
    (SkipIgnored, "skip_ignored", "never reads self.skip"),
    (SkipOffReturnsX, "skip_off_wrong", "something else"),
    (NoFinalRelu, "final_relu_missing", "final ReLU"),
    (DetachedSkip, "skip_detached", "cut from autograd"),
    (OtherNames, "names", "no fc1"),
]


@pytest.mark.parametrize("cls, mistake, phrase", BLOCK_MISTAKES, ids=[m[0].__name__ for m in BLOCK_MISTAKES])
def test_block_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_mlp_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


class WrongDepth(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        self.blocks = nn.Sequential(*[Block(width) for _ in range(depth // 2)])


class PythonList(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        del self.blocks
        self.blocks = [Block(width) for _ in range((depth - 2) // 2)]

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x)


class SameBlock(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        block = Block(width)
        self.blocks = nn.Sequential(*[block] * ((depth - 2) // 2))


class ReluAfterHead(Stack):
    def forward(self, x):
        return F.relu(super().forward(x))


class StubStack(nn.Module):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__()
        raise NotImplementedError()


STACK_MISTAKES = [
    (StubStack, "not_started", NOT_STARTED),
    (WrongDepth, "depth_count", "depth counts weight layers"),
    (PythonList, "python_list", "plain Python list"),
    (SameBlock, "same_block", "share one set of weights"),
    (ReluAfterHead, "wrong_output", "activation after the head"),
]


@pytest.mark.parametrize("cls, mistake, phrase", STACK_MISTAKES, ids=[m[0].__name__ for m in STACK_MISTAKES])
def test_stack_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_residual_mlp(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


def stub_experiment(depths, steps=200, seed=0):
    raise NotImplementedError()


def skips_never_off(depths, steps=200, seed=0):
    results = {"plain": {}, "residual": {}}
    for kind in results:
        for depth in depths:
            torch.manual_seed(seed)
            history = train(Stack(depth), DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False)
            results[kind][depth] = history.final_loss()
    return results


def untrained(depths, steps=200, seed=0):
    return {kind: {d: 2.31 + 0.01 * d for d in depths} for kind in ("plain", "residual")}


def swapped(depths, steps=200, seed=0):
    r = experiment(depths, steps, seed)
    return {"plain": r["residual"], "residual": r["plain"]}


def tensors(depths, steps=200, seed=0):
    return {kind: {d: torch.tensor(0.1) for d in depths} for kind in ("plain", "residual")}


EXPERIMENT_MISTAKES = [
    (stub_experiment, "not_started", NOT_STARTED),
    (skips_never_off, "skips_not_off", "never switched off"),
    (untrained, "not_trained", "not trained"),
    (swapped, "no_degradation", "Swapped"),
    (tensors, "result_values", "Python float"),
]


@pytest.mark.parametrize("fn, mistake, phrase", EXPERIMENT_MISTAKES, ids=[m[0].__name__ for m in EXPERIMENT_MISTAKES])
def test_experiment_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_degradation(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
