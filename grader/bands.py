"""Points from a measured value: a band from "earns nothing" to "earns all".

``zero`` is the value that earns no points, ``full`` the value that earns
them all, and points grow linearly in between. The direction follows from
the two bounds, so the same band works for accuracy (higher is better) and
for errors such as MAE (lower is better). A relative band is a pair of
fractions of the reference model's value on the same fresh data.
"""
from __future__ import annotations


def resolve(band: dict, reference: float | None) -> dict:
    """Absolute bounds of ``band``; ``reference`` is needed when it is relative."""
    if not band.get("relative"):
        return {"zero": float(band["zero"]), "full": float(band["full"])}
    if reference is None:
        raise ValueError("the band is relative to the reference, which has no value here")
    return {"zero": float(band["zero"]) * reference, "full": float(band["full"]) * reference,
            "reference": reference}


def fraction(value: float, zero: float, full: float) -> float:
    """Share of the points earned by ``value``, from 0 to 1."""
    if full == zero:
        return 1.0 if value == full else 0.0
    share = (value - zero) / (full - zero)
    return min(1.0, max(0.0, share))
