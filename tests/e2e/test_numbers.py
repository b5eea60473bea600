"""The benchmark's training-overhead comparison measures like against like.

``benchmarks/training_overhead.py`` times ``resnet_edu.train.train`` against a bare PyTorch
loop; the comparison is only fair if both do exactly the same work: the same batches, the
same updates, hence the same final loss. (The timing itself is in ``make benchmark``.)
"""

from __future__ import annotations

import importlib.util
import math
import sys

from e2e_env import ROOT


def _load():
    path = ROOT / "benchmarks" / "training_overhead.py"
    spec = importlib.util.spec_from_file_location("training_overhead", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bare_loop_and_train_do_the_same_work() -> None:
    import torch

    threads = torch.get_num_threads()
    result = _load().training_overhead(repeats=1, steps=25, depth=4, batch_size=512)
    assert result.same_result, "the bare loop and train() ended on different losses: different batches or updates"
    assert result.bare > 0 and result.course > 0 and math.isfinite(result.percent)
    assert torch.get_num_threads() == threads, "the benchmark changed the thread count"
