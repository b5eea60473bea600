"""resnet-edu: the helper package of an interactive course on residual networks.

Importing the package has no side effects. Each notebook starts with::

    from resnet_edu.startup import start
    env = start()          # seeds, one torch thread, plotting defaults

The modules are layers; each uses only the layers before it (no cycles)::

    data -> models -> train -> probes -> experiments -> plots -> widgets
                 \\-> graph (torchviz; graph_render draws it)
    checks (the exercises' checks; models are the reference), assign (the exercise generator)

- ``data``: the digits and the synthetic line of inputs, as tensors.
- ``models``: the blocks (one protocol: ``shortcut``, ``act``, the course's ``skip`` switch),
  the MLP and 6n+2 stacks, and model surgery (``find_blocks``, ``delete_blocks``, ``copy_weights``).
- ``train``: one deterministic training loop and an evaluation.
- ``probes``: measurements on a given model (gradient norms, lesions, input gradients, loss
  surfaces): model and data in, numbers out.
- ``experiments``: the course's experiments: models built from a seed, trained or probed,
  cached for the life of the kernel.
- ``plots``: figures from those numbers, one module per kind of figure.
- ``widgets``: controls and observers around an experiment and a figure.
- ``seeding``, ``validate``, ``claims``, ``startup``: seeds, argument checks, the lessons'
  checked claims, the first cell of every notebook.
"""

__version__ = "0.1.0"
