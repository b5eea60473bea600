"""Exercise 3's checks: the switchable residual MLP block, the stack, the degradation experiment."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_degradation, check_mlp_block, check_residual_mlp
from resnet_edu.data import load_digits
from resnet_edu.models import set_skips
from resnet_edu.train import evaluate, train


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


class BlockNoBias(Block):
    """Linear(bias=False) before BatchNorm (the bias would cancel), nn.ReLU modules."""

    def __init__(self, width):
        super().__init__(width)
        self.fc1, self.fc2 = nn.Linear(width, width, bias=False), nn.Linear(width, width, bias=False)
        self.act = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.fc2(self.act(self.bn1(self.fc1(x)))))
        return self.act(out + x) if self.skip else self.act(out)


class BlockSequential(nn.Module):
    """The branch as an nn.Sequential, other names, an extra harmless attribute, layers registered BN first."""

    def __init__(self, width):
        super().__init__()
        self.norms = nn.ModuleList([nn.BatchNorm1d(width), nn.BatchNorm1d(width)])
        self.branch = nn.Sequential(
            nn.Linear(width, width), self.norms[0], nn.ReLU(), nn.Linear(width, width), self.norms[1]
        )
        self.width = width
        self.skip = True

    def forward(self, x):
        out = self.branch(x)
        if self.skip:
            out = out + x
        return torch.relu(out)


class BlockReference(nn.Module):
    """The package's own block, wrapped."""

    def __init__(self, width):
        super().__init__()
        from resnet_edu.models import ResidualMLPBlock

        self.inner = ResidualMLPBlock(width)
        self.skip = True

    def forward(self, x):
        self.inner.skip = self.skip
        return self.inner(x)


@pytest.mark.parametrize("cls", [Block, BlockInPlace, BlockNoBias, BlockSequential, BlockReference])
def test_correct_blocks_pass(cls, capsys):
    check_mlp_block(cls)
    one_line(capsys)


class StackHeadFirst(nn.Module):
    """Head registered first, blocks of BlockNoBias, a loop in forward, an extra attribute."""

    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__()
        self.head = nn.Linear(width, num_classes)
        self.stem = nn.Sequential(nn.Linear(in_features, width, bias=False), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*(BlockNoBias(width) for _ in range((depth - 2) // 2)))
        self.depth = depth

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


class StackFunctionalStem(nn.Module):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__()
        self.fc_in, self.bn_in = nn.Linear(in_features, width), nn.BatchNorm1d(width)
        self.blocks = nn.Sequential(*[BlockSequential(width) for _ in range((depth - 2) // 2)])
        self.fc_out = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc_out(self.blocks(F.relu(self.bn_in(self.fc_in(x)))))


@pytest.mark.parametrize("cls", [Stack, StackModuleList, StackHeadFirst, StackFunctionalStem])
def test_correct_stacks_pass(cls, capsys):
    check_residual_mlp(cls)
    one_line(capsys)


def experiment_seed_everything(depths, steps=200, seed=0):
    """seed_everything, kinds in the inner loop, a deep copy for the plain twin, results built at the end."""
    from resnet_edu.seeding import seed_everything

    plain, residual = {}, {}
    for depth in depths:
        for kind, store in (("residual", residual), ("plain", plain)):
            seed_everything(seed)
            model = StackHeadFirst(depth)
            set_skips(model, kind == "residual")
            store[depth] = train(
                model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False
            ).final_loss()
    return {"plain": plain, "residual": residual}


def experiment_copy(depths, steps=200, seed=0):
    """One seeded model per depth, copied (untrained) for the plain run; the mean of the last 10 by hand."""
    results = {"plain": {}, "residual": {}}
    for depth in depths:
        torch.manual_seed(seed)
        base = Stack(depth)
        for kind in ("plain", "residual"):
            model = copy.deepcopy(base)
            if kind == "plain":
                set_skips(model, False)
            losses = train(model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False).loss
            results[kind][depth] = float(sum(losses[-10:]) / len(losses[-10:]))
    return results


def experiment_own_loop(depths, steps=200, seed=0):
    """The training loop written out (the same as train's), with a generator for the batches."""
    from resnet_edu.seeding import seeded_generator

    results = {"plain": {}, "residual": {}}
    x, y = DIGITS.x_train, DIGITS.y_train
    for kind in results:
        for depth in depths:
            torch.manual_seed(seed)
            model = Stack(depth)
            set_skips(model, kind == "residual")
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            gen, order, pos, losses = seeded_generator(seed), None, 0, []
            order = torch.randperm(len(x), generator=gen)
            model.train()
            for _ in range(steps):
                if pos + 128 > len(x):
                    order, pos = torch.randperm(len(x), generator=gen), 0
                batch = order[pos : pos + 128]
                pos += 128
                loss = F.cross_entropy(model(x[batch]), y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            results[kind][depth] = sum(losses[-10:]) / len(losses[-10:])
    return results


@pytest.mark.parametrize("fn", [experiment, experiment_seed_everything, experiment_copy, experiment_own_loop])
def test_correct_experiment_passes(fn, capsys):
    check_degradation(fn)
    one_line(capsys)


# ----- mistakes: the block --------------------------------------------------------------------


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


class SkipOffNoRelu(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + x) if self.skip else out


class NoFinalRelu(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return out + x if self.skip else out


class DetachedSkip(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + x.detach() if self.skip else out)


class BNAfterAdd(Block):
    def forward(self, x):
        out = self.fc2(F.relu(self.bn1(self.fc1(x))))
        return F.relu(self.bn2(out + x) if self.skip else self.bn2(out))


class HiddenSkip(Block):
    def forward(self, x):
        h = F.relu(self.bn1(self.fc1(x)))
        out = self.bn2(self.fc2(h))
        return F.relu(out + h if self.skip else out)


class SkipAfterRelu(Block):
    def forward(self, x):
        out = F.relu(self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x))))))
        return out + x if self.skip else out


class ReluBeforeAdd(Block):
    def forward(self, x):
        out = F.relu(self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x))))))
        return F.relu(out + x if self.skip else out)


class SharedBN(Block):
    def forward(self, x):
        out = self.bn1(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + x if self.skip else out)


class BNAfterRelu(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(self.bn1(F.relu(self.fc1(x)))))
        return F.relu(out + x if self.skip else out)


class OneLinear(Block):
    def forward(self, x):
        out = self.bn2(self.fc1(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + x if self.skip else out)


class SkipDoubled(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out + 2 * x if self.skip else out)


class PreactOrder(Block):
    def forward(self, x):
        out = self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))
        return out + x if self.skip else out


class SkipIsString(Block):
    def __init__(self, width):
        super().__init__(width)
        self.skip = "yes"


class InPlaceSkip(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        if self.skip:
            x += out
            return F.relu(x)
        return F.relu(out)


class TanhBranch(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(torch.tanh(self.bn1(self.fc1(x)))))
        return F.relu(out + x if self.skip else out)


class SkipInverted(Block):
    def forward(self, x):
        out = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(out if self.skip else out + x)


BLOCK_MISTAKES = [
    (TanhBranch, "activation", "tanh"),
    (SkipInverted, "skip_missing", "nothing is added"),
    (StubBlock, "not_started", NOT_STARTED),
    (NoSkipAttribute, "skip_attribute", "self.skip = True"),
    (SkipIsString, "skip_attribute", "'yes'"),
    (SkipIgnored, "skip_ignored", "never reads self.skip"),
    (SkipOffReturnsX, "skip_off_wrong", "returns x"),
    (SkipOffNoRelu, "skip_off_no_relu", "final ReLU is skipped"),
    (NoFinalRelu, "final_relu_missing", "final ReLU"),
    (DetachedSkip, "skip_detached", "cut from autograd"),
    (BNAfterAdd, "bn_after_add", "after the addition"),
    (HiddenSkip, "wrong_skip_tensor", "hidden activation"),
    (SkipAfterRelu, "skip_after_relu", "after the final ReLU"),
    (ReluBeforeAdd, "relu_before_add", "before the addition"),
    (SharedBN, "bn_shared", "called twice"),
    (BNAfterRelu, "bn_after_relu", "after the ReLU"),
    (OneLinear, "layers", "forward ran: Linear, BatchNorm1d, Linear"),
    (SkipDoubled, "skip_doubled", "added twice"),
    (PreactOrder, "fc1_input", "receives something else than x"),
    (InPlaceSkip, "input_inplace", "in-place"),
]


@pytest.mark.parametrize("cls, mistake, phrase", BLOCK_MISTAKES, ids=[m[0].__name__ for m in BLOCK_MISTAKES])
def test_block_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_mlp_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


# ----- mistakes: the stack --------------------------------------------------------------------


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


class SoftmaxHead(Stack):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


class StemNoRelu(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        self.stem = nn.Sequential(nn.Linear(in_features, width), nn.BatchNorm1d(width))


class StubStack(nn.Module):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__()
        raise NotImplementedError()


class ClassesIgnored(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, 10)


class WidthIgnored(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, 6, in_features, num_classes)


class FeaturesIgnored(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, 5, num_classes)


class BlocksFedStem(Stack):
    def forward(self, x):
        h = self.stem(x)
        out = h
        for block in self.blocks:
            out = block(h)
        return self.head(out)


class StemNoBN(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        self.stem = nn.Sequential(nn.Linear(in_features, width), nn.ReLU())
        self.head = nn.Sequential(nn.BatchNorm1d(width), nn.Linear(width, num_classes))


class PlainBlocks(Stack):
    """Blocks without a skip switch (the package's plain blocks)."""

    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        from resnet_edu.models import PlainMLPBlock

        super().__init__(depth, width, in_features, num_classes)
        self.blocks = nn.Sequential(*[PlainMLPBlock(width) for _ in range((depth - 2) // 2)])


class HeadTwice(Stack):
    def forward(self, x):
        h = self.blocks(self.stem(x))
        return self.head(h) + 0.5 * self.head(h)


class OneBlockTooMany(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        self.blocks = nn.Sequential(*[Block(width) for _ in range((depth - 2) // 2 + 1)])


class StemReluFirst(Stack):
    def __init__(self, depth, width=64, in_features=64, num_classes=10):
        super().__init__(depth, width, in_features, num_classes)
        self.stem = nn.Sequential(nn.Linear(in_features, width), nn.ReLU(), nn.BatchNorm1d(width))


class ReluBetweenBlocks(Stack):
    """A ReLU between blocks is harmless (each block already ends with one): a right answer."""

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = F.relu(block(h))
        return self.head(h)


def test_a_harmless_relu_between_blocks_passes(capsys):
    check_residual_mlp(ReluBetweenBlocks)
    one_line(capsys)


class BlocksTwice(Stack):
    def forward(self, x):
        return self.head(self.blocks(self.blocks(self.stem(x))))


STACK_MISTAKES = [
    (StemReluFirst, "stem_order", "ReLU before BatchNorm"),
    (BlocksTwice, "wrong_output", "largest difference"),
    (StubStack, "not_started", NOT_STARTED),
    (WrongDepth, "depth_count", "depth counts weight layers"),
    (OneBlockTooMany, "depth_count", "depth counts weight layers"),
    (PythonList, "python_list", "plain Python list"),
    (SameBlock, "same_block", "share one set of weights"),
    (ReluAfterHead, "relu_after_head", "ReLU after the head"),
    (SoftmaxHead, "softmax_head", "softmax"),
    (StemNoRelu, "stem_no_relu", "no ReLU"),
    (ClassesIgnored, "num_classes_ignored", "num_classes is ignored"),
    (WidthIgnored, "width_ignored", "width argument"),
    (FeaturesIgnored, "in_features_ignored", "in_features"),
    (BlocksFedStem, "blocks_fed_stem", "stem's output"),
    (StemNoBN, "layers", "differ in number, kind or size"),
    (PlainBlocks, "blocks", "set_skips() finds 0"),
    (HeadTwice, "wrong_output", "largest difference"),
]


@pytest.mark.parametrize("cls, mistake, phrase", STACK_MISTAKES, ids=[m[0].__name__ for m in STACK_MISTAKES])
def test_stack_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_residual_mlp(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


# ----- mistakes: the experiment ---------------------------------------------------------------


def run(kind, depth, steps, seed, *, x=None, y=None, build_seed=True, train_seed=None, cls=Stack):
    if build_seed:
        torch.manual_seed(seed)
    model = cls(depth)
    if kind == "plain":
        set_skips(model, False)
    x = DIGITS.x_train if x is None else x
    y = DIGITS.y_train if y is None else y
    return model, train(model, x, y, steps=steps, seed=seed if train_seed is None else train_seed, progress=False)


def stub_experiment(depths, steps=200, seed=0):
    raise NotImplementedError()


def skips_never_off(depths, steps=200, seed=0):
    results = {"plain": {}, "residual": {}}
    for kind in results:
        for depth in depths:
            results[kind][depth] = run("residual", depth, steps, seed)[1].final_loss()
    return results


def untrained(depths, steps=200, seed=0):
    return {kind: {d: 2.31 + 0.01 * d for d in depths} for kind in ("plain", "residual")}


def swapped(depths, steps=200, seed=0):
    r = experiment(depths, steps, seed)
    return {"plain": r["residual"], "residual": r["plain"]}


def tensors(depths, steps=200, seed=0):
    return {kind: {d: torch.tensor(0.1) for d in depths} for kind in ("plain", "residual")}


def ignores_steps(depths, steps=200, seed=0):
    return {k: {d: run(k, d, 15, seed)[1].final_loss() for d in depths} for k in ("plain", "residual")}


def seeds_once(depths, steps=200, seed=0):
    torch.manual_seed(seed)
    return {
        k: {d: run(k, d, steps, seed, build_seed=False)[1].final_loss() for d in depths} for k in ("plain", "residual")
    }


def constant_seed(depths, steps=200, seed=0):
    return {k: {d: run(k, d, steps, 0, train_seed=seed)[1].final_loss() for d in depths} for k in ("plain", "residual")}


def train_seed_constant(depths, steps=200, seed=0):
    return {k: {d: run(k, d, steps, seed, train_seed=0)[1].final_loss() for d in depths} for k in ("plain", "residual")}


def last_batch(depths, steps=200, seed=0):
    return {k: {d: run(k, d, steps, seed)[1].loss[-1] for d in depths} for k in ("plain", "residual")}


def mean_of_all(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for k in out:
        for d in depths:
            losses = run(k, d, steps, seed)[1].loss
            out[k][d] = sum(losses) / len(losses)
    return out


def reported_test_loss(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for k in out:
        for d in depths:
            model, _ = run(k, d, steps, seed)
            out[k][d] = evaluate(model, DIGITS.x_test, DIGITS.y_test).loss
    return out


def train_set_loss(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for k in out:
        for d in depths:
            model, _ = run(k, d, steps, seed)
            out[k][d] = evaluate(model, DIGITS.x_train, DIGITS.y_train).loss
    return out


def on_test_set(depths, steps=200, seed=0):
    return {
        k: {d: run(k, d, steps, seed, x=DIGITS.x_test, y=DIGITS.y_test)[1].final_loss() for d in depths}
        for k in ("plain", "residual")
    }


def residual_then_plain(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for d in depths:
        torch.manual_seed(seed)
        model = Stack(d)
        out["residual"][d] = train(
            model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False
        ).final_loss()
        set_skips(model, False)
        out["plain"][d] = train(
            model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False
        ).final_loss()
    return out


def copies_trained_model(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for d in depths:
        model, history = run("residual", d, steps, seed)
        out["residual"][d] = history.final_loss()
        plain = copy.deepcopy(model)
        set_skips(plain, False)
        out["plain"][d] = train(
            plain, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, progress=False
        ).final_loss()
    return out


def depth_ignored(depths, steps=200, seed=0):
    return {k: {d: run(k, 20, steps, seed)[1].final_loss() for d in depths} for k in ("plain", "residual")}


def string_keys(depths, steps=200, seed=0):
    r = experiment(depths, steps, seed)
    return {k: {str(d): v for d, v in r[k].items()} for k in r}


def first_step_loss(depths, steps=200, seed=0):
    return {k: {d: run(k, d, steps, seed)[1].loss[0] for d in depths} for k in ("plain", "residual")}


def one_list(depths, steps=200, seed=0):
    r = experiment(depths, steps, seed)
    return [r["plain"][d] for d in depths] + [r["residual"][d] for d in depths]


def train_subset(depths, steps=200, seed=0):
    return {
        k: {d: run(k, d, steps, seed, x=DIGITS.x_train[:256], y=DIGITS.y_train[:256])[1].final_loss() for d in depths}
        for k in ("plain", "residual")
    }


def big_learning_rate(depths, steps=200, seed=0):
    out = {"plain": {}, "residual": {}}
    for k in out:
        for d in depths:
            torch.manual_seed(seed)
            model = Stack(d)
            set_skips(model, k == "residual")
            out[k][d] = train(
                model, DIGITS.x_train, DIGITS.y_train, steps=steps, seed=seed, lr=0.5, progress=False
            ).final_loss()
    return out


EXPERIMENT_MISTAKES = [
    (train_subset, "train_subset", "subset"),
    (big_learning_rate, "hyperparameters", "another learning rate"),
    (stub_experiment, "not_started", NOT_STARTED),
    (skips_never_off, "skips_not_off", "never switched off"),
    (untrained, "not_trained", "nothing was trained"),
    (swapped, "kinds_swapped", "swapped"),
    (tensors, "result_values", "Python float"),
    (ignores_steps, "steps_ignored", "trained for 15 steps"),
    (seeds_once, "seeded_once", "start from different weights"),
    (constant_seed, "constant_seed", "seed argument is not used"),
    (train_seed_constant, "train_seed_constant", "same mini-batches"),
    (last_batch, "last_batch_loss", "LAST mini-batch"),
    (mean_of_all, "mean_loss", "ALL training steps"),
    (reported_test_loss, "test_loss", "TEST loss"),
    (train_set_loss, "train_set_loss", "whole training set"),
    (on_test_set, "trained_on_test", "TEST set"),
    (residual_then_plain, "same_model_twice", "first with its skips on"),
    (copies_trained_model, "same_model_twice", "already trained"),
    (depth_ignored, "depth_ignored", "depth is not passed"),
    (string_keys, "result_depths", "keyed by the depth"),
    (first_step_loss, "first_loss", "FIRST step"),
    (one_list, "result_keys", "got list"),
]


@pytest.mark.parametrize("fn, mistake, phrase", EXPERIMENT_MISTAKES, ids=[m[0].__name__ for m in EXPERIMENT_MISTAKES])
def test_experiment_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_degradation(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
