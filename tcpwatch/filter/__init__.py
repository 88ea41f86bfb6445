"""Wireshark display filters (``-Y``) over the segment table: ``compile_filter(text)``
gives a function of the table returning a boolean mask (see ``evaluate``)."""

from .evaluate import compile_filter
from .fields import FIELDS
from .syntax import FilterError

__all__ = ["FIELDS", "FilterError", "compile_filter"]
