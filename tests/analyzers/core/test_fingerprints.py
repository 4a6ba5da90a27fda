"""Fingerprints and content keys as the engine makes them."""

from __future__ import annotations

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Rule, Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.database.hardcoded_pool_size import HardcodedPoolSize
from faultline.analyzers.rules.errors.broad_except import BroadExcept

HANDLER = "def {name}(db):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"
TWO = HANDLER.format(name="save") + "\n\n" + HANDLER.format(name="load")
POOL = "from sqlalchemy import create_engine\n\nengine = create_engine(url, pool_size=20)\n"


def findings(code: str, rule: type[Rule] = BroadExcept, path: str = "app/store.py") -> list[Finding]:
    return run_example(rule, Valid(code, path=path))


def test_version_1_fingerprints_are_what_version_1_wrote() -> None:
    # Printed by version 1 for these files: comments it left carry them in their markers.
    assert [f.fingerprint_v1 for f in findings(TWO)] == ["9dea6680c40b491c7d6b", "101f778a0818d2fce3df"]
    assert [f.fingerprint_v1 for f in findings(POOL, HardcodedPoolSize, "app/db.py")] == [
        "44366a7e92ad6e1fb37c"
    ]


def test_like_handlers_share_a_content_key_and_differ_by_fingerprint() -> None:
    first, second = findings(TWO)
    assert first.content_key == second.content_key != ""
    assert first.fingerprint != second.fingerprint


def test_the_fingerprint_ignores_the_functions_name_and_the_indentation() -> None:
    (before,) = findings(HANDLER.format(name="save"))
    wrapped = "def persist(db, lock):\n    with lock:\n        try:\n            db.commit()\n"
    (after,) = findings(wrapped + "        except Exception:\n            pass\n")
    assert (after.fingerprint, after.content_key) == (before.fingerprint, before.content_key)
    assert after.fingerprint_v1 != before.fingerprint_v1  # version 1 named the function


def test_the_content_key_depends_on_the_path() -> None:
    (here,) = findings(HANDLER.format(name="save"))
    (there,) = findings(HANDLER.format(name="save"), path="app/other.py")
    assert here.content_key != there.content_key
