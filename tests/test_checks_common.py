"""Every check leaves the student's session alone: random states, default dtype, thread count."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from test_checks_blocks import Bottleneck, PreAct
from test_checks_gradients import with_closure_factory
from test_checks_init import init_normal, profile
from test_checks_lesion import lesion, lesion_study
from test_checks_mlp import Block, Stack
from test_checks_residual_block import Seed
from test_checks_resnet import ResNet
from test_checks_shortcuts import Scaled, ratio

from resnet_edu import checks
from resnet_edu.checks.failure import CheckFailed, fail, not_started

CASES = [
    (checks.check_gradient_norms, with_closure_factory),
    (checks.check_residual_block, Seed),
    (checks.check_mlp_block, Block),
    (checks.check_residual_mlp, Stack),
    (checks.check_resnet, ResNet),
    (checks.check_preact_block, PreAct),
    (checks.check_bottleneck_block, Bottleneck),
    (checks.check_lesion, lesion),
    (checks.check_lesion_study, lesion_study),
    (checks.check_gradient_profile, profile),
    (checks.check_init, init_normal),
    (checks.check_scaled_block, Scaled),
    (checks.check_gradient_ratio, ratio),
]


def state():
    return torch.random.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()


@pytest.mark.parametrize("check, solution", CASES, ids=[c[0].__name__ for c in CASES])
def test_check_leaves_the_session_alone(check, solution, capsys):
    torch.manual_seed(7)
    random.seed(7)
    np.random.seed(7)
    threads = torch.get_num_threads()
    torch.set_default_dtype(torch.float64)  # a student who works in float64 ...
    try:
        before = state()
        check(solution)
        after = state()
        assert torch.equal(before[0], after[0]) and before[1] == after[1] and (before[2] == after[2]).all()
        assert torch.get_default_dtype() == torch.float64  # ... keeps float64
        assert torch.get_num_threads() == threads
    finally:
        torch.set_default_dtype(torch.float32)
    assert capsys.readouterr().out.startswith("\u2713 ")


def test_messages_have_the_four_parts():
    err = fail("x", "tried this", "that", "a cause", "a hint")
    assert isinstance(err, AssertionError) and isinstance(err, CheckFailed)
    assert [line.split(":")[0] for line in str(err).splitlines()] == ["Tried", "Expected", "Likely mistake", "Hint"]
    assert not_started("f").mistake == "not_started" and str(not_started("f")).startswith(checks.NOT_STARTED)


def test_every_exercise_has_a_check():
    names = [n for n in checks.__all__ if n.startswith("check_")]
    assert len(names) >= 14
    assert all(callable(getattr(checks, n)) for n in names)


# ----- the shared helpers of resnet_edu.checks._harness ---------------------------------------------


def mistake_of(fn, *args, **kwargs):
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return info.value.mistake


def test_require_function_rejects_non_functions_and_other_signatures():
    from resnet_edu.checks._harness import require_function

    def experiment(depths, *, steps=200, seed=0):
        return depths

    args = ("check_x", "experiment", "experiment(depths, steps=200, seed=0)", "experiment((4,), steps=1, seed=0)")
    require_function(experiment, *args, (4,), steps=1, seed=0)  # keyword-only arguments bind by name
    assert mistake_of(require_function, experiment(1), *args, (4,)) == "not_a_function"
    assert mistake_of(require_function, CheckFailed, *args, (4,)) == "not_a_function"
    assert mistake_of(require_function, experiment, *args, (4,), 1, 0) == "signature"


def test_result_helpers_reject_none_other_types_and_bools():
    from resnet_edu.checks._harness import require_list, require_numbers

    require_list([1.0], "t", "a list", "return it", "make a list")
    assert mistake_of(require_list, None, "t", "a list", "return it", "make a list") == "returns_none"
    assert mistake_of(require_list, {"a": 1.0}, "t", "a list", "return it", "make a list") == "not_a_list"
    require_numbers([1, 2.5], "t", "floats", "use .item()")
    for bad in (True, torch.tensor(1.0), "1"):
        assert mistake_of(require_numbers, [1.0, bad], "t", "floats", "use .item()") == "not_floats"


def test_raise_first_match_raises_the_first_candidate_that_matches():
    from resnet_edu.checks._harness import raise_first_match

    x = torch.ones(3)
    candidates = [("double", 2 * x, "doubled", "once"), ("same", x, "same", "-"), ("also", x, "also", "-")]
    assert mistake_of(raise_first_match, x, candidates, "t", "x") == "same"
    raise_first_match(3 * x, candidates, "t", "x")  # nothing matches: returns
    assert mistake_of(raise_first_match, 1.0, [("near", 1.05, "c", "h")], "t", "x", near=lambda a, b: abs(a - b) < 0.1)


def test_recording_and_copying_by_role_or_running_order():
    from torch import nn

    from resnet_edu.checks._harness import chained, copy_in_running_order, copy_roles, one_input, recording

    torch.manual_seed(0)
    mine = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    ref = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    x = torch.randn(2, 3)
    with recording(mine) as a, recording(ref) as b:  # a Sequential iterates over its layers
        mine(x)
        ref(x)
    assert [c.module for c in a] == list(mine) and not any(m._forward_hooks for m in (*mine, *ref))
    assert chained(a) and not one_input(a)
    with recording(mine) as side_by_side:
        mine[0](x)
        mine[1](x)
    assert one_input(side_by_side) and not chained(side_by_side)
    assert copy_in_running_order(a, b, (nn.Linear,)) and torch.equal(ref(x), mine(x))
    assert not copy_in_running_order(a, b[:1], (nn.Linear,))
    copy_roles({"0": mine[1], "1": mine[0]}, ref)
    assert torch.equal(ref[0].weight, mine[1].weight)
    with pytest.raises(ValueError, match="^0: "):
        copy_roles({"0": nn.Linear(2, 3)}, ref)
