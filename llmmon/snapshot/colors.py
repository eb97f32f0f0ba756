"""Grafana's named colours (dark theme), its classic series palette, and the panel theme."""

from __future__ import annotations

from matplotlib.colors import is_color_like

_BASE = {  # hue: (super-light, light, base, semi-dark, dark)
    "green": ("#C8F2C2", "#96D98D", "#73BF69", "#56A64B", "#37872D"),
    "yellow": ("#FFF899", "#FFEE52", "#FADE2A", "#F2CC0C", "#E0B400"),
    "red": ("#FFA6B0", "#FF7383", "#F2495C", "#E02F44", "#C4162A"),
    "blue": ("#C0D8FF", "#8AB8FF", "#5794F2", "#3274D9", "#1F60C4"),
    "orange": ("#FFCB7D", "#FFB357", "#FF9830", "#FF780A", "#FA6400"),
    "purple": ("#DEB6F2", "#CA95E5", "#B877D9", "#A352CC", "#8F3BB8"),
}
NAMED = {
    **{f"{prefix}{hue}": shades[i] for hue, shades in _BASE.items()
       for i, prefix in enumerate(("super-light-", "light-", "", "semi-dark-", "dark-"))},
    "text": "#CCCCDC", "white": "#FFFFFF", "black": "#000000", "transparent": "none",
}
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
           "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477")

CANVAS = "#111217"
PANEL = "#181B1F"
BORDER = "#2C3235"
TEXT = "#CCCCDC"
MUTED = "#8E8E8E"
GRID = "#24292E"
ERROR = "#F2495C"


def grafana(color: str | None, fallback: str = TEXT) -> str:
    """A Grafana colour name or CSS colour as a matplotlib colour."""
    if not color:
        return fallback
    named = NAMED.get(color.lower())
    if named:
        return named
    return color if is_color_like(color) else fallback


def series(index: int) -> str:
    return PALETTE[index % len(PALETTE)]
