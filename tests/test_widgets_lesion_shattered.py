"""The delete-a-block and shattered-gradients explorers, without a browser: set the controls,
check the picture and the data."""

import base64
import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from resnet_edu.experiments import line_network, shattered_state
from resnet_edu.models import MLPStack, delete_blocks
from resnet_edu.plots import plot_combined_lesions, plot_shattered_state, show_depth
from resnet_edu.probes import autocorrelation, input_gradients
from resnet_edu.train import evaluate, train
from resnet_edu.widgets import ChangingFigure, LesionExplorer, ShatteredExplorer, figure_to_png


def png(widget):
    (output,) = widget.output.outputs
    assert output["output_type"] == "display_data"
    return output["data"]["image/png"]


@pytest.fixture(scope="module")
def lesion_setup():
    torch.manual_seed(0)
    x, y = torch.randn(200, 64), torch.randint(0, 10, (200,))
    models = {}
    for block in ("plain", "residual"):
        torch.manual_seed(0)
        models[block] = MLPStack(depth=8, width=32, block=block)
        train(models[block], x, y, steps=30, progress=False)
    return models, x, y


def test_lesion_explorer_redraws_and_shows_the_right_accuracies(lesion_setup):
    models, x, y = lesion_setup
    widget = LesionExplorer(models, x, y)
    assert len(widget.buttons) == 3
    assert widget.deleted == []
    start = png(widget)
    assert widget.accuracies == pytest.approx({k: evaluate(m, x, y).accuracy for k, m in models.items()})

    widget.buttons[1].value = True
    assert widget.deleted == [1]
    assert png(widget) != start
    expected = {k: evaluate(delete_blocks(m, [1]), x, y).accuracy for k, m in models.items()}
    assert widget.accuracies == pytest.approx(expected)

    widget.buttons[2].value = True
    expected = {k: evaluate(delete_blocks(m, [1, 2]), x, y).accuracy for k, m in models.items()}
    assert widget.accuracies == pytest.approx(expected)
    # the single-block results behind the left panel do not change with the selection
    assert len(widget.results["plain"].accuracies) == 3


def test_lesion_explorer_figure_titles_and_neutral_legend(lesion_setup):
    from matplotlib.colors import to_hex

    models, x, y = lesion_setup
    widget = LesionExplorer(models, x, y)
    right = plot_combined_lesions(widget.results, widget.accuracies, []).axes[1]
    assert right.get_title() == "Nothing deleted (the widget's starting state)"
    handles = {h.get_label(): h for h in right.get_legend().legend_handles}
    # the swatches are neutral (grey / white hatched), not one model's colour
    assert to_hex(handles["nothing deleted"].get_facecolor()) == "#cccccc"
    assert to_hex(handles["selected blocks deleted"].get_facecolor()) == "#ffffff"
    assert handles["selected blocks deleted"].get_hatch() == "//"
    right = plot_combined_lesions(widget.results, widget.accuracies, [0, 2]).axes[1]
    assert right.get_title() == "Deleted together: blocks 1, 3"


def test_lesion_explorer_rejects_mismatched_models(lesion_setup):
    models, x, y = lesion_setup
    with pytest.raises(ValueError, match="same, non-zero number of blocks"):
        LesionExplorer({"a": models["plain"], "b": MLPStack(depth=10, width=32)}, x, y)
    with pytest.raises(ValueError, match="non-empty"):
        LesionExplorer({}, x, y)
    with pytest.raises(ValueError, match="same labels"):
        widget = LesionExplorer(models, x, y)
        plot_combined_lesions(widget.results, {"plain": 0.5}, [])


def test_shattered_explorer_follows_depth_and_batchnorm():
    widget = ShatteredExplorer(depth=4)
    start = png(widget)
    assert set(widget.state["gradients"]) == {"plain, 4 layers", "residual, 4 layers"}

    widget.depth.value = 32
    deep = png(widget)
    assert deep != start
    plain = widget.state["gradients"]["plain, 32 layers"]
    # the data shown are the probe's, on a freshly built network of that depth
    x = widget.state["x"]
    assert torch.allclose(plain, input_gradients(line_network(32, "plain"), x))
    assert autocorrelation(plain) < 0.3
    assert autocorrelation(widget.state["gradients"]["residual, 32 layers"]) > autocorrelation(plain)

    widget.batchnorm.value = False
    assert png(widget) != deep
    assert set(widget.state["curves"]) == {"plain, no BN", "residual, no BN"}
    assert autocorrelation(widget.state["gradients"]["plain, 32 layers"]) > 0.8


def test_shattered_figure_and_state_check_arguments():
    with pytest.raises(ValueError, match="even"):
        shattered_state(5)
    with pytest.raises(TypeError, match="True or False"):
        shattered_state(4, batchnorm=1)
    fig = plot_shattered_state(shattered_state(4), 4, True)
    assert "with BatchNorm" in fig._suptitle.get_text()


def pixels(png_bytes: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGBA"))


def test_shattered_explorer_shows_exactly_a_new_figure():
    """A depth change redraws only what changes (the rest of the image is kept); what the
    widget shows must have exactly the pixels of a figure drawn from scratch, at the ends of
    the slider and in between, for either BatchNorm setting and after switching it."""
    widget = ShatteredExplorer(depth=4)
    for depth, batchnorm in ((8, True), (2, True), (50, True), (6, True), (6, False), (50, False), (10, False)):
        widget.batchnorm.value = batchnorm
        widget.depth.value = depth
        fresh = plot_shattered_state(shattered_state(depth, batchnorm), depth, batchnorm, layout="fixed")
        shown = pixels(base64.b64decode(png(widget)))
        assert np.array_equal(shown, pixels(figure_to_png(fresh, 80))), f"depth {depth}, batchnorm {batchnorm}"
    with pytest.raises(ValueError, match="networks"):
        show_depth(fresh, {"plain": torch.zeros(3)}, 4)


def test_changing_figure_redraws_a_changed_line_exactly_and_checks_its_arguments():
    def figure(ys):
        fig = Figure(figsize=(3, 2))
        ax = fig.subplots()
        ax.set_title("fixed")
        (line,) = ax.plot([0, 1, 2], ys, zorder=3)
        return fig, line

    fig, line = figure([0, 1, 0])
    changing = ChangingFigure(fig, [line])
    assert pixels(changing.png()).shape == (160, 240, 4)  # 3 x 2 inches at the widget's 80 dpi
    line.set_ydata([1, 0, 0.5])
    assert np.array_equal(pixels(changing.png()), pixels(figure_to_png(figure([1, 0, 0.5])[0], 80)))
    assert not np.array_equal(pixels(changing.png()), pixels(figure_to_png(figure([0, 1, 0])[0], 80)))
    figure_to_png(fig, 100)  # another canvas draws it, and its dpi changes:
    fig.set_dpi(100)  # the next png() draws the kept part again, at its own dpi
    line.set_ydata([1, 0.5, 0])  # same range: the axes limits stay
    assert np.array_equal(pixels(changing.png()), pixels(figure_to_png(figure([1, 0.5, 0])[0], 80)))
    with pytest.raises(ValueError, match="axes"):
        ChangingFigure(figure([0, 1, 0])[0], [fig.suptitle("not in an axes")])
    with pytest.raises(TypeError, match="Figure"):
        ChangingFigure("a figure", [])
    with pytest.raises(ValueError, match="fixed layout"):
        ChangingFigure(Figure(layout="constrained"), [])
