"""Exercise 3: a residual MLP whose skip connections can be switched off, and the degradation
experiment with it (He et al. 2015, section 4.1, on the digits).

References: :class:`resnet_edu.models.ResidualMLPBlock` and :class:`resnet_edu.models.MLPStack`
(``block="residual"``); switching uses :func:`resnet_edu.models.set_skips`, which works on any
module with a boolean ``skip`` attribute.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models import MLPStack, ResidualMLPBlock, set_skips, skip_blocks
from ._harness import (
    call,
    close,
    construct,
    forward,
    randomise_batchnorm,
    require_class,
    require_signature,
    sandbox,
)
from .failure import fail, passed

WIDTH, BATCH = 6, 8



def _copy_in_order(src: nn.Module, dst: nn.Module, kinds: tuple[type, ...]) -> bool:
    """Copy the parameters of the Linear / BatchNorm layers of ``src`` into ``dst``, matched by order."""
    a = [m for m in src.modules() if isinstance(m, kinds)]
    b = [m for m in dst.modules() if isinstance(m, kinds)]
    if [type(m) for m in a] != [type(m) for m in b]:
        return False
    with torch.no_grad():
        for s, d in zip(a, b):
            for name in ("weight", "bias"):
                ps, pd = getattr(s, name, None), getattr(d, name, None)
                if pd is None:
                    continue
                if ps is None or ps.shape != pd.shape:
                    return False
                pd.copy_(ps)
    return True


def check_mlp_block(block_class: type) -> None:
    """Check a student's ``MLPBlock(width)``: ``ReLU(BN2(fc2(ReLU(BN1(fc1(x))))) + x)``, with a ``skip`` switch."""
    require_class(block_class, "MLPBlock")
    require_signature(block_class, "MLPBlock(width)", "MLPBlock(6)", WIDTH)
    tried = f"MLPBlock({WIDTH}) on x of shape ({BATCH}, {WIDTH})"
    with sandbox(2) as g:
        block = construct(block_class, tried, WIDTH)
        missing = [n for n in ("fc1", "bn1", "fc2", "bn2") if not isinstance(getattr(block, n, None), nn.Module)]
        if missing:
            raise fail("names", tried, "layers named fc1, bn1, fc2, bn2 (as in the exercise), so the check can compare them",
                       f"the block has no {', '.join(missing)}", "self.fc1 = nn.Linear(width, width); self.bn1 = nn.BatchNorm1d(width); ...")
        if getattr(block, "skip", None) is not True:
            raise fail("skip_attribute", tried, "an attribute self.skip = True set in __init__",
                       f"block.skip is {getattr(block, 'skip', 'missing')!r}: set_skips() finds blocks by their boolean 'skip'",
                       "add self.skip = True at the end of __init__, and 'if self.skip:' in forward")
        block.to("cpu", torch.float64).train()
        randomise_batchnorm(block, g)
        ref = ResidualMLPBlock(WIDTH).double().train()
        if not _copy_in_order(block, ref, (nn.Linear, nn.BatchNorm1d)):
            raise fail("layers", tried, "two Linear(width, width) layers and two BatchNorm1d(width)",
                       "the block's layers differ in number, kind or size", "fc1, bn1, fc2, bn2: all of size width")
        x = torch.randn(BATCH, WIDTH, generator=g, dtype=torch.float64)
        out = forward(block, x, "MLPBlock", tried)
        with torch.no_grad():
            f = ref.bn2(ref.fc2(F.relu(ref.bn1(ref.fc1(x)))))
        if not close(out, ref(x)):
            for mistake, value, cause, hint in (
                ("skip_missing", F.relu(f), "with skip = True nothing is added: the skip is missing",
                 "if self.skip: out = out + x, before the last ReLU"),
                ("final_relu_missing", f + x, "the final ReLU is missing", "return self.relu(out) after the addition"),
                ("skip_after_relu", F.relu(f) + x, "x is added after the final ReLU", "add first, then apply the ReLU"),
                ("relu_before_add", F.relu(F.relu(f) + x), "a ReLU is applied to the branch before the addition",
                 "the branch ends with bn2; the ReLU comes after the addition"),
            ):
                if close(out, value):
                    raise fail(mistake, tried, "ReLU(BN2(fc2(ReLU(BN1(fc1(x))))) + x) with skip = True", cause, hint)
            raise fail("wrong_output", tried, "ReLU(BN2(fc2(ReLU(BN1(fc1(x))))) + x) with skip = True",
                       "the output differs from the course's block on the same weights",
                       "check the order fc -> BN -> ReLU and where x is added")
        block.skip = ref.skip = False
        out_off = forward(block, x, "MLPBlock", tried + " with skip = False")
        if close(out_off, out):
            raise fail("skip_ignored", tried + " with skip = False", "ReLU(BN2(fc2(ReLU(BN1(fc1(x)))))): the plain block",
                       "the output does not change when skip is False: forward never reads self.skip",
                       "in forward: if self.skip: out = out + x")
        if not close(out_off, ref(x)):
            raise fail("skip_off_wrong", tried + " with skip = False",
                       "the plain block ReLU(BN2(fc2(ReLU(BN1(fc1(x)))))) on the same weights",
                       "with skip = False the block computes something else (it must drop only the '+ x')",
                       "keep the branch and the final ReLU; only the addition depends on self.skip")
        block.skip = ref.skip = True
        xg = x.clone().requires_grad_(True)
        out_g = forward(block, xg, "MLPBlock", tried)
        xr = x.clone().requires_grad_(True)
        (grad_ref,) = torch.autograd.grad(ref(xr).sum(), xr)
        grad = torch.autograd.grad(out_g.sum(), xg, allow_unused=True)[0] if out_g.requires_grad else None
        if grad is None or not close(grad, grad_ref, tol=1e-6):
            raise fail("skip_detached", tried + ", then backward", "the gradient to flow through the skip",
                       "the skip is cut from autograd (x.detach(), x.data or torch.no_grad())", "add x itself")
    passed("MLPBlock computes ReLU(F(x) + x), and the plain block F(x) when skip is False.")


def check_residual_mlp(model_class: type) -> None:
    """Check a student's ``ResidualMLP(depth, width=64, in_features=64, num_classes=10)``."""
    require_class(model_class, "ResidualMLP")
    sig = "ResidualMLP(depth, width=64, in_features=64, num_classes=10)"
    require_signature(model_class, sig, "ResidualMLP(10, width=6, in_features=5, num_classes=3)",
                      10, width=6, in_features=5, num_classes=3)
    with sandbox(3) as g:
        for depth in (4, 10):
            tried = f"ResidualMLP({depth}, width={WIDTH}, in_features=5, num_classes=3)"
            model = construct(model_class, tried, depth, width=WIDTH, in_features=5, num_classes=3)
            lists = [n for n, v in vars(model).items() if isinstance(v, (list, tuple)) and any(isinstance(b, nn.Module) for b in v)]
            if lists:
                raise fail("python_list", tried, "every block registered with the model (nn.Sequential or nn.ModuleList)",
                           f"self.{lists[0]} is a plain Python list: PyTorch does not see the layers inside it "
                           "(no parameters for the optimiser, no .double(), no set_skips)",
                           "self.blocks = nn.Sequential(*[MLPBlock(width) for _ in range(n_blocks)])")
            children = list(getattr(model, "blocks", []))
            if len(children) != len({id(c) for c in children}):
                raise fail("same_block", tried, f"{(depth - 2) // 2} different blocks",
                           "the same block object is repeated ([MLPBlock(width)] * n): all blocks share one set of weights",
                           "build a new block in each iteration: [MLPBlock(width) for _ in range(n)]")
            linears = sum(isinstance(m, nn.Linear) for m in model.modules())
            if linears != depth:
                raise fail("depth_count", tried, f"{depth} Linear layers: 1 in the stem + 2 in each of the {(depth - 2) // 2} block(s) + 1 in the head",
                           f"the model has {linears} Linear layers: depth counts weight layers, as in the papers",
                           "n_blocks = (depth - 2) // 2")
            blocks = skip_blocks(model)
            if len(blocks) != (depth - 2) // 2:
                raise fail("blocks", tried, f"{(depth - 2) // 2} blocks with a boolean 'skip' attribute (your MLPBlock)",
                           f"set_skips() finds {len(blocks)} switchable blocks", "build the blocks with MLPBlock(width)")
            model.to("cpu", torch.float64).train()
            randomise_batchnorm(model, g)
            ref = MLPStack(depth, WIDTH, "residual", in_features=5, num_classes=3).double().train()
            if not _copy_in_order(model, ref, (nn.Linear, nn.BatchNorm1d)):
                raise fail("layers", tried, "stem: Linear(in_features, width), BatchNorm1d, ReLU; the blocks; head: Linear(width, num_classes)",
                           "the model's Linear / BatchNorm layers differ in order, kind or size from that layout",
                           "self.stem = nn.Sequential(nn.Linear(in_features, width), nn.BatchNorm1d(width), nn.ReLU())")
            x = torch.randn(BATCH, 5, generator=g, dtype=torch.float64)
            for skips in (True, False):
                set_skips(model, skips)
                set_skips(ref, skips)
                out = forward(model, x, "ResidualMLP", tried)
                if tuple(out.shape) != (BATCH, 3):
                    raise fail("shape", tried, f"logits of shape ({BATCH}, 3)", f"the output has shape {tuple(out.shape)}",
                               "end with the head Linear(width, num_classes), no activation after it")
                if not close(out, ref(x)):
                    raise fail("wrong_output", tried + f" with skips {'on' if skips else 'off'}",
                               "stem (Linear, BN, ReLU) -> blocks -> head (Linear), as resnet_edu.models.MLPStack",
                               "the output differs from the reference stack on the same weights "
                               "(an activation after the head? a missing ReLU in the stem?)",
                               "forward: return self.head(self.blocks(self.stem(x)))")
    passed("ResidualMLP has depth Linear layers, and set_skips switches it between residual and plain.")


def check_degradation(experiment: Callable) -> None:
    """Check a student's ``degradation_experiment(depths, steps=200, seed=0)`` on depths 4 and 32."""
    name = "degradation_experiment"
    if not callable(experiment) or isinstance(experiment, type):
        raise fail("not_a_function", f"check_degradation({experiment!r:.40})", f"the function {name}",
                   "something else was passed", f"pass {name} without parentheses")
    try:
        inspect.signature(experiment).bind((4, 32), steps=100, seed=0)
    except TypeError:
        raise fail("signature", f"{name}((4, 32), steps=100, seed=0)", f"the signature {name}(depths, steps=200, seed=0)",
                   f"the signature is {name}{inspect.signature(experiment)}", "keep the signature of the exercise") from None
    tried = f"{name}(depths=(4, 32), steps=100, seed=0)"
    # Training runs in the student's own dtype (the data are float32); only the random state is sandboxed.
    dtype = torch.get_default_dtype()
    with sandbox(4):
        torch.set_default_dtype(dtype)
        result = call(name, tried, experiment, (4, 32), steps=100, seed=0)
    if not isinstance(result, dict) or set(result) != {"plain", "residual"}:
        raise fail("result_keys", tried, "a dict {'plain': {depth: loss}, 'residual': {depth: loss}}",
                   f"got {type(result).__name__} with keys {sorted(result) if isinstance(result, dict) else '-'}",
                   "results = {'plain': {}, 'residual': {}}; results[kind][depth] = history.final_loss()")
    for kind, losses in result.items():
        if not isinstance(losses, dict) or sorted(losses) != [4, 32]:
            raise fail("result_depths", tried, f"result[{kind!r}] = {{4: loss, 32: loss}}",
                       f"result[{kind!r}] is {losses!r:.80}", "one entry per depth in depths")
        for depth, loss in losses.items():
            if isinstance(loss, torch.Tensor) or not isinstance(loss, float) or not math.isfinite(loss) or loss < 0:
                raise fail("result_values", tried, "each value a finite training loss as a Python float",
                           f"result[{kind!r}][{depth}] is {loss!r:.60}", "store history.final_loss() (a float)")
    plain, residual = result["plain"], result["residual"]
    if all(v > 2.0 for d in result.values() for v in d.values()):
        raise fail("not_trained", tried, "training losses well below ln 10 = 2.3 for the shallow nets",
                   "every loss is above 2.0: the models are not trained (or steps is ignored)",
                   "history = train(model, digits.x_train, digits.y_train, steps=steps, seed=seed, progress=False)")
    if plain == residual:
        raise fail("skips_not_off", tried, "different losses for the plain and the residual nets",
                   "plain and residual results are identical: the skips were never switched off",
                   "for the plain run: set_skips(model, False) right after building the model")
    if not (plain[32] > 3 * plain[4] and plain[32] > 0.3 and residual[32] < plain[32] / 3):
        raise fail("no_degradation", tried,
                   "the plain 32-layer net to train much worse than the 4-layer one, and the residual 32-layer net much better",
                   f"plain: {plain[4]:.3g} (4) vs {plain[32]:.3g} (32); residual 32: {residual[32]:.3g}. Swapped "
                   "kinds, the same model trained twice, or a different learning rate?",
                   "build a fresh model per (kind, depth) with torch.manual_seed(seed) first, and train with train()'s defaults")
    passed("Your experiment shows degradation: the plain net trains worse at depth 32 than at 4, the residual net does not.")
