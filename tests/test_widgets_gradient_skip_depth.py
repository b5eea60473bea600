"""The gradient-flow explorer, the skip-connection toggle and the depth explorer, tested without
a browser: build, set a control's value, check the figure in the output changed and the data behind it are right."""

import base64

import pytest
import torch

from resnet_edu import experiments
from resnet_edu.data import load_digits
from resnet_edu.models import MLPStack, set_skips
from resnet_edu.probes import gradient_norms
from resnet_edu.train import train
from resnet_edu.widgets import DepthExplorer, GradientFlowExplorer, SkipToggle


def png_of(widget) -> bytes:
    outputs = widget.output.outputs
    assert len(outputs) == 1, "the output must hold exactly one figure (replaced, not appended)"
    data = base64.b64decode(outputs[0]["data"]["image/png"])
    assert data.startswith(b"\x89PNG"), "the output must hold a PNG image"
    return data


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def reference_norms(digits, depth, seed=0, skips=None, **kwargs):
    """Gradient norms computed independently of the widgets and experiments."""
    torch.manual_seed(seed)
    model = MLPStack(depth, **kwargs)
    if skips is not None:
        set_skips(model, skips)
    return gradient_norms(model, digits.x_train[:256], digits.y_train[:256])


# --------------------------------------------------------------------- gradient-flow explorer


def test_gradient_flow_explorer_redraws_and_shows_the_right_data(digits):
    explorer = GradientFlowExplorer(depth=10, activation="relu", init="default", batchnorm=True, block="plain")
    before = png_of(explorer)
    assert explorer.norms == pytest.approx(reference_norms(digits, 10, activation="relu", batchnorm=True))

    explorer.activation.value = "sigmoid"
    explorer.batchnorm.value = False
    after = png_of(explorer)
    assert after != before
    expected = reference_norms(digits, 10, activation="sigmoid", batchnorm=False)
    assert list(explorer.norms) == list(expected)
    assert explorer.norms == pytest.approx(expected, rel=1e-5)


def test_gradient_flow_explorer_every_control_redraws():
    explorer = GradientFlowExplorer(depth=8)
    changes = [
        (explorer.depth, 12),
        (explorer.init, "kaiming"),
        (explorer.block, "residual"),
        (explorer.activation, "tanh"),
        (explorer.batchnorm, False),
    ]
    for control, value in changes:
        before = png_of(explorer)
        control.value = value
        assert png_of(explorer) != before, f"changing {control.description} did not redraw"
    assert explorer.settings() == {
        "depth": 12,
        "activation": "tanh",
        "init": "kaiming",
        "batchnorm": False,
        "block": "residual",
    }
    assert len(explorer.norms) == 12


def test_gradient_flow_explorer_shows_vanishing_sigmoid():
    explorer = GradientFlowExplorer(depth=50, activation="sigmoid", batchnorm=False)
    values = list(explorer.norms.values())
    # Tiny but not zero: float32 subnormals, summed in float64 so the norm does not underflow.
    assert 0.0 < values[0] < 1e-30 and values[-1] > 0.1


def test_gradient_flow_explorer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        GradientFlowExplorer(activation="swish")
    with pytest.raises(ValueError, match="even"):
        GradientFlowExplorer(depth=7)


# --------------------------------------------------------------------- skip toggle


@pytest.fixture(scope="module")
def toggle():
    return SkipToggle(experiments.skip_states(depth=8, steps=5))


def test_skip_toggle_has_a_skip_connection_checkbox(toggle):
    assert "skip connection" in toggle.skip.description
    assert toggle.skip.value is True
    assert toggle in [toggle] and toggle.children[0] is toggle.skip and toggle.children[-1] is toggle.output


def test_skip_toggle_changes_the_figure_and_back(toggle):
    on = png_of(toggle)
    toggle.skip.value = False
    off = png_of(toggle)
    assert off != on
    assert toggle.current is toggle.states[False]
    toggle.skip.value = True
    assert png_of(toggle) == on  # the same state draws the same figure
    assert toggle.current is toggle.states[True]


def test_skip_toggle_data_are_the_two_states_of_one_model(toggle, digits):
    for skips in (True, False):
        expected = reference_norms(digits, 8, skips=skips, block="residual")
        assert toggle.states[skips].gradient_norms == pytest.approx(expected, rel=1e-5)
        assert len(toggle.states[skips].history.loss) == 5
    # trained from the same weights, with the same batches: an independent run agrees
    torch.manual_seed(0)
    model = MLPStack(8, block="residual")
    set_skips(model, False)
    history = train(model, digits.x_train, digits.y_train, steps=5, seed=0, progress=False)
    assert toggle.states[False].history.loss == pytest.approx(history.loss, rel=1e-5)
    assert toggle.states[True].history.loss != toggle.states[False].history.loss


def test_skip_toggle_does_not_recompute_when_toggled(toggle, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("toggling must only redraw the cached states")

    monkeypatch.setattr(experiments, "train", fail)
    monkeypatch.setattr(experiments, "gradient_norms", fail)
    toggle.skip.value = not toggle.skip.value
    toggle.skip.value = not toggle.skip.value


# --------------------------------------------------------------------- depth explorer


def test_depth_explorer_adds_a_block_type_and_its_data_are_right(digits):
    explorer = DepthExplorer(depths=(4,), blocks=("plain",))
    before = png_of(explorer)
    assert set(explorer.sweep.histories) == {"plain"}

    explorer.block_buttons["residual"].value = True
    assert png_of(explorer) != before
    assert set(explorer.sweep.histories) == {"plain", "residual"}
    assert "zero-init" in explorer.status.value
    # an independent training run with the documented settings gives the same history
    torch.manual_seed(0)
    model = MLPStack(4, block="residual", zero_init=True)
    history = train(model, digits.x_train, digits.y_train, steps=200, seed=0, progress=False)
    assert explorer.sweep.histories["residual"][4][0].loss == pytest.approx(history.loss, rel=1e-5)


def test_depth_explorer_adds_a_depth():
    explorer = DepthExplorer(depths=(4,), blocks=("plain",))
    before = png_of(explorer)
    explorer.depth_buttons[10].value = True
    assert png_of(explorer) != before
    assert set(explorer.sweep.histories["plain"]) == {4, 10}
    assert explorer.selection() == ((4, 10), ("plain",))
    assert "zero-init" not in explorer.status.value  # only residual stacks have it


def test_depth_explorer_with_nothing_selected_says_so_and_keeps_the_figure():
    explorer = DepthExplorer(depths=(4,), blocks=("plain",))
    before = png_of(explorer)
    explorer.block_buttons["plain"].value = False
    assert "select at least one" in explorer.message.value
    assert png_of(explorer) == before


def test_depth_explorer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="depths"):
        DepthExplorer(depths=(5,))
    with pytest.raises(ValueError, match="blocks"):
        DepthExplorer(blocks=("preact",))


# --------------------------------------------------------------------- every widget


def test_a_bad_value_shows_a_message_and_the_widget_keeps_answering():
    explorer = GradientFlowExplorer(depth=20)
    before = png_of(explorer)
    explorer.depth.value = 21  # typed into the slider's box: an odd depth has no MLPStack
    assert "even" in explorer.message.value and png_of(explorer) == before
    explorer.depth.value = 22
    assert explorer.message.value == "" and png_of(explorer) != before


def test_text_before_the_widget_renders_says_what_to_do():
    text = repr(GradientFlowExplorer(depth=10))
    assert text.startswith("[Gradient-flow explorer: run this cell") and len(text) <= 110  # ipywidgets cuts at 110
    assert "children=" not in text


def test_depth_explorer_trains_in_the_background_and_draws_only_the_newest_selection():
    import asyncio

    async def clicks() -> tuple[DepthExplorer, list[bytes]]:
        explorer = DepthExplorer(depths=(4,), blocks=("plain",), seed=7)
        shown = []
        explorer.output.observe(lambda change: shown.append(png_of(explorer)), names="outputs")
        explorer.depth_buttons[10].value = True  # needs a new run: trains in the background
        assert "Training" in explorer.status.value or explorer._task is not None
        explorer.depth_buttons[20].value = True  # a newer click, made while the first one waits
        await explorer._task
        return explorer, shown

    explorer, shown = asyncio.run(clicks())
    assert len(shown) == 1, "a figure for an outdated selection was drawn"
    assert set(explorer.sweep.histories["plain"]) == {4, 10, 20}


def test_a_kept_renderer_draws_exactly_what_a_fresh_one_draws():
    """figure_to_png keeps its renderer between figures of one size: no trace of the figure
    drawn before may be left, so each PNG equals the one a new canvas gives."""
    import io

    from matplotlib.figure import Figure

    from resnet_edu.widgets import figure_to_png

    def figure(title: str, ys: list[float], size: tuple[float, float] = (4, 3)) -> Figure:
        fig = Figure(figsize=size)
        ax = fig.subplots()
        ax.plot(ys)
        ax.set_title(title)
        return fig

    def fresh_png(fig: Figure) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    a, b = figure("first", [1, 3, 2]), figure("second, much longer title", [5, 0, 5, 0])
    first = figure_to_png(a, 80)
    second = figure_to_png(b, 80)
    assert second != first
    wide = figure_to_png(figure("wide", [1, 2], size=(6, 2)), 80)
    assert wide == fresh_png(figure("wide", [1, 2], size=(6, 2)))
    assert figure_to_png(figure("first", [1, 3, 2]), 80) == first == fresh_png(figure("first", [1, 3, 2]))
    assert second == fresh_png(figure("second, much longer title", [5, 0, 5, 0]))
