"""Whether the text report is coloured: ``--color``, then the environment's conventions.

The order is CPython's own (``_colorize.can_colorize``, 3.13): ``NO_COLOR`` (no-color.org),
then ``FORCE_COLOR`` (force-color.org), then ``TERM=dumb``, then whether stdout is a
terminal. Both variables count only when set to a non-empty value, whatever the value
(``FORCE_COLOR=0`` forces colour too, as force-color.org says). A report written to a file
with ``--output`` is never coloured unless ``--color always`` asks: a file is not a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")


def use_color(flag: str, *, to_file: bool, stdout: TextIO, environ: Mapping[str, str]) -> bool:
    if flag != "auto":
        return flag == "always"
    if to_file or environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stdout, "isatty", None)
    return bool(isatty and isatty())
