"""FL013 unchecked-fetch-response: a fetch response body is read without checking its status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from faultline.analyzers.core.context import Context
from faultline.analyzers.core.findings import Hit, Severity
from faultline.analyzers.core.rule import Invalid, Rule, Valid
from faultline.analyzers.core.source import SourceFile


class UncheckedFetchResponse(Rule):
    """
    ## What it does
    Checks for ... (one sentence).

    ## Why is this risky?
    What goes wrong in production, concretely.

    ## Example
    ```python
    risky_code()
    ```

    ## Use instead
    ```python
    safer_code()
    ```
    """

    code = "FL013"
    slug = "unchecked-fetch-response"
    severity = Severity.WARNING
    summary = "A fetch response body is read without checking its status"
    patterns = ("*.py",)

    VALID: ClassVar[list[Valid]] = [
        Valid("safer_code()\n"),
        Valid("# a near-miss that must not be reported\nrisky_code  # not a call\n"),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid("risky_code()\n", line=1),
        Invalid("def handler():\n    risky_code()\n", line=2),
    ]

    def check(self, source: SourceFile, ctx: Context) -> Iterator[Hit]:
        yield from ()
