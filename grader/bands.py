"""Points from a measured value: a band from "earns nothing" to "earns all".

``zero`` is the value that earns no points, ``full`` the value that earns
them all, and points grow linearly in between. The direction follows from
the two bounds, so the same band works for accuracy (higher is better) and
for errors such as MAE (lower is better). A relative band is a pair of
fractions of the reference model's value on the same fresh data.

A value is measured on a sample of fresh data, so it carries sampling noise
(its standard error): another draw of as many samples would give a slightly
different value. Near a band edge, or anywhere in a steep band, that noise
alone can move the points; :func:`too_close_to_call` says when.
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


NOISE_REACH = 2.0   # standard errors either side of the measured value that another draw may well reach
SMALL_SHARE = 0.05  # of the points: what the sampling noise may move them by before more data are needed


def too_close_to_call(value: float, error: float, zero: float, full: float) -> bool:
    """Whether ``value``'s sampling noise (standard error ``error``) could move its share of the points by more
    than ``SMALL_SHARE``: it lies within ``NOISE_REACH`` errors of a band edge, or in a band steep for its noise."""
    low = fraction(value - NOISE_REACH * error, zero, full)
    high = fraction(value + NOISE_REACH * error, zero, full)
    return abs(high - low) > SMALL_SHARE
