"""Automatic grid layout: panels flow left to right and wrap at 24 columns.

Declarations only give sizes, so adding or removing a panel never needs hand-edited
coordinates and panels can never overlap. Ids follow declaration order, so they are
stable across renders.
"""

from __future__ import annotations

from collections.abc import Sequence

import attr
from grafanalib import core as g

GRID_WIDTH = 24


def place(panels: Sequence[g.Panel]) -> list[g.Panel]:
    """Copies of ``panels`` with ``gridPos`` x/y and ``id`` set; a row starts a new line."""
    placed: list[g.Panel] = []
    x = y = line_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        w, h = panel.gridPos.w, panel.gridPos.h
        if not 0 < w <= GRID_WIDTH:
            raise ValueError(f"panel {panel.title!r}: width {w} outside 1..{GRID_WIDTH}")
        if x + w > GRID_WIDTH or (isinstance(panel, g.RowPanel) and x > 0):
            x, y, line_height = 0, y + line_height, 0
        placed.append(attr.evolve(panel, id=panel_id, gridPos=g.GridPos(h=h, w=w, x=x, y=y)))
        x, line_height = x + w, max(line_height, h)
        if isinstance(panel, g.RowPanel):
            x, y, line_height = 0, y + h, 0
    return placed
