"""Values formatted the way Grafana's common units show them (``s``, ``percentunit``, ``bytes``,
``reqps``, ``suffix: tok/s``, ...); an unknown unit is printed after the number."""

from __future__ import annotations

import math

SI = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
IEC = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))
DECIMAL_BYTES = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"))
#: Time units, in seconds.
TIME = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
        "dtdurations": 1.0, "dtdhms": 1.0}
RATE_SUFFIX = {"reqps": " req/s", "rps": " req/s", "ops": " ops/s", "wps": " wr/s", "rds": " rd/s", "iops": " io/s",
               "cps": " c/s", "Bps": "B/s"}


def number(value: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    magnitude = abs(value)
    if magnitude == 0 or magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if magnitude >= 0.01:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def scaled(value: float, steps: tuple[tuple[float, str], ...], base: str = "", decimals: int | None = None) -> str:
    for size, name in steps:
        if abs(value) >= size:
            return f"{number(value / size, decimals)} {name}"
    return f"{number(value, decimals)}{' ' + base if base else ''}"


def duration(seconds: float, decimals: int | None = None) -> str:
    magnitude = abs(seconds)
    for limit, size, name in ((1e-6, 1e-9, "ns"), (1e-3, 1e-6, "µs"), (1.0, 1e-3, "ms"), (60.0, 1.0, "s"),
                              (3600.0, 60.0, "min"), (86400.0, 3600.0, "hour")):
        if magnitude < limit:
            return f"{number(seconds / size, decimals)} {name}"
    return f"{number(seconds / 86400, decimals)} day"


def format_value(value: float | None, unit: str = "", decimals: int | None = None) -> str:
    if value is None or math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "percentunit":
        return f"{number(value * 100, decimals)}%"
    if unit == "percent":
        return f"{number(value, decimals)}%"
    if unit in TIME:
        return duration(value * TIME[unit], decimals)
    if unit in ("bytes", "decbytes", "bits"):
        steps = IEC if unit == "bytes" else DECIMAL_BYTES
        return scaled(value, steps, "b" if unit == "bits" else "B", decimals)
    if unit in RATE_SUFFIX:
        return scaled(value, SI, decimals=decimals).rstrip() + RATE_SUFFIX[unit]
    if unit.startswith("currency"):
        symbol = {"currencyUSD": "$", "currencyEUR": "€", "currencyGBP": "£"}.get(unit, "")
        return symbol + scaled(value, SI, decimals=decimals).rstrip()
    if unit.startswith("suffix:"):
        return scaled(value, SI, decimals=decimals).rstrip() + unit[len("suffix:"):]
    if unit.startswith("prefix:"):
        return unit[len("prefix:"):] + scaled(value, SI, decimals=decimals).rstrip()
    text = scaled(value, SI, decimals=decimals).rstrip()
    return text if unit in ("", "short", "none", "locale") else f"{text} {unit}"
