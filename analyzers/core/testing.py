"""Run a rule's examples: shared by the test suite and the docs generator."""

from __future__ import annotations

from faultline.analyzers.core.changes import ChangeSet, diff_texts
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Rule, Valid


def run_example(rule: type[Rule], example: Valid) -> list[Finding]:
    """Findings of ``rule`` alone on the change the example describes.

    With ``base`` the change is a diff from base to code (only added lines
    count); without it the file is new. ``files`` are the rest of the
    repository, the same on both sides.
    """
    files = {path: text.encode() for path, text in example.files.items()}
    new = {**files, example.path: example.code.encode()}
    base = dict(files)
    if example.base is not None:
        base[example.path] = example.base.encode()
    change = diff_texts(example.path, example.base, example.code)
    changes = ChangeSet({example.path: change})
    engine = Engine(Config(), [rule])
    report = engine.run(changes, MemoryRepoView(new, base))
    return report.findings
