"""resnet-edu: the helper package of an interactive course on residual networks.

Importing the package has no side effects. Each notebook starts with::

    from resnet_edu.startup import start
    env = start()          # seeds, one torch thread, plotting defaults

The modules follow one direction of use (design section 3):
``data -> models -> train -> probes -> plots -> widgets``.
"""

__version__ = "0.1.0"
