"""Widgets timed by run.py: (name, make the widget, change one control: (widget, i) -> None).

Add an entry for every widget in resnet_edu.widgets. `change` must trigger one redraw.
"""

from __future__ import annotations

WIDGETS: list = []
