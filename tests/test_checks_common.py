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
