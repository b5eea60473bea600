"""The claim helper every lesson uses, and the seed shift the robustness harness relies on."""

import json

import numpy as np
import pytest
import torch

from resnet_edu.claims import CLAIMS_LOG_VARIABLE, ClaimFailed, claim, margin
from resnet_edu.data import load_digits
from resnet_edu.seeding import SEED_SHIFT_VARIABLE, seed_everything, seeded_generator, shifted
from resnet_edu.startup import THREADS_VARIABLE, start


def test_claim_that_holds_prints_the_statement_only(capsys):
    claim("deeper plain nets train worse", 2.1, ">", 1.5)
    assert capsys.readouterr().out == "\u2713 deeper plain nets train worse\n"


@pytest.mark.parametrize(
    "value, op, threshold",
    [(1.0, "<", 1.0), (2.0, "<=", 1.9), (0.5, ">", 0.5), (0.1, ">=", 0.2), (float("nan"), "<", 1.0)],
)
def test_claim_that_fails_raises_a_short_friendly_error(value, op, threshold, capsys):
    with pytest.raises(ClaimFailed) as info:
        claim("the skip keeps the gradient alive", value, op, threshold, hint="train longer")
    assert isinstance(info.value, AssertionError)  # nbval, nbgrader and pytest see a failure
    message = str(info.value)
    assert "the skip keeps the gradient alive" in message and f"{op} {threshold:.4g}" in message
    assert "differ a little between machines" in message and "Hint: train longer" in message
    shown = info.value._render_traceback_()  # what a notebook shows instead of a traceback
    assert "the skip keeps the gradient alive" in shown[0] and len(shown) <= 8
    assert capsys.readouterr().out == ""


def test_claim_rejects_bad_arguments():
    with pytest.raises(ValueError, match="op must be one of"):
        claim("x", 1.0, "==", 1.0)
    with pytest.raises(TypeError, match="numbers"):
        claim("x", "big", "<", 1.0)
    with pytest.raises(TypeError, match="statement"):
        claim("", 1.0, "<", 2.0)


def test_margin_is_relative_and_signed():
    assert margin(0.8, "<", 1.0) == pytest.approx(0.2)
    assert margin(1.2, "<", 1.0) == pytest.approx(-0.2)
    assert margin(3.0, ">", 2.0) == pytest.approx(0.5)
    assert margin(-0.5, ">", 0.0) == pytest.approx(-0.5)


def test_claims_are_recorded_for_the_harness(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(CLAIMS_LOG_VARIABLE, str(log))
    claim("holds", 0.5, "<", 1.0)
    with pytest.raises(ClaimFailed):
        claim("fails", 2.0, "<", 1.0)
    first, second = [json.loads(line) for line in log.read_text().splitlines()]
    assert first == {"statement": "holds", "value": 0.5, "op": "<", "threshold": 1.0, "margin": 0.5, "held": True}
    assert second["held"] is False and second["margin"] == pytest.approx(-1.0)


def test_seed_shift_changes_every_seed_the_package_uses(monkeypatch):
    base = load_digits(n_train=1000).y_train[:20].clone()
    seed_everything(0)
    torch_draw, numpy_draw = torch.rand(3), np.random.rand(3)
    generator_draw = torch.rand(3, generator=seeded_generator(0))
    monkeypatch.setenv(SEED_SHIFT_VARIABLE, "3")
    assert shifted(0) == 3 and shifted(5) == 8
    seed_everything(0)
    assert not torch.equal(torch.rand(3), torch_draw) and not np.allclose(np.random.rand(3), numpy_draw)
    assert not torch.equal(torch.rand(3, generator=seeded_generator(0)), generator_draw)
    assert not torch.equal(load_digits(n_train=1000).y_train[:20], base)  # the data split too
    seed_everything(0)
    shifted_draw = torch.rand(3)
    monkeypatch.delenv(SEED_SHIFT_VARIABLE)
    seed_everything(3)
    assert torch.equal(torch.rand(3), shifted_draw)  # a shift of 3 is seed 3 instead of 0


def test_bad_seed_shift_is_a_short_error(monkeypatch):
    monkeypatch.setenv(SEED_SHIFT_VARIABLE, "two")
    with pytest.raises(ValueError, match="RESNET_EDU_SEED_SHIFT must be a whole number"):
        shifted(0)


def test_start_takes_the_thread_count_from_the_harness(monkeypatch):
    threads = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_VARIABLE, "2")
        assert start().threads == 2
        monkeypatch.delenv(THREADS_VARIABLE)
        assert start().threads == 1
    finally:
        torch.set_num_threads(threads)
