"""FL011 unbounded-query beyond its examples: parents in the path, page models, lookups."""

from __future__ import annotations

import textwrap

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.performance.unbounded_query import UnboundedQuery


def check(code: str, path: str = "app/api/items.py") -> list[Finding]:
    return run_example(UnboundedQuery, Valid(textwrap.dedent(code), path=path))


def test_a_parent_loaded_from_the_path_bounds_the_query() -> None:
    code = """\
        from fastapi import APIRouter

        @router.get("/projects/{project_id}/tasks")
        def tasks(project_id: int, db):
            project = db.get(Project, project_id)
            return db.query(Task).filter(Task.project == project).all()
        """
    assert check(code) == []


def test_a_page_response_model_is_pagination() -> None:
    code = """\
        from fastapi import APIRouter
        from fastapi_pagination import Page, paginate

        @router.get("/items", response_model=Page[ItemOut])
        def items(db):
            return paginate(db.query(Item).all())
        """
    assert check(code) == []


def test_a_view_without_a_web_import_is_not_read() -> None:
    code = """\
        @router.get("/items")
        def items(db):
            return db.query(Item).all()
        """
    assert check(code) == []


def test_the_message_names_the_route_model_and_query() -> None:
    code = """\
        from flask import Blueprint

        @bp.route("/api/cases", methods=["GET", "POST"])
        def cases():
            return jsonify(Case.query.all())
        """
    findings = check(code)
    assert [finding.line for finding in findings] == [5]
    assert findings[0].message.startswith("`GET /api/cases` returns every row of `Case` (`Case.query.all()`)")


def test_a_single_row_is_not_a_collection() -> None:
    code = """\
        from fastapi import APIRouter

        @router.get("/me")
        def me(db, user):
            return db.query(User).filter(User.id == user.id).first()
        """
    assert check(code) == []


def test_tests_are_not_checked() -> None:
    code = """\
        from fastapi import APIRouter

        @router.get("/items")
        def items(db):
            return db.query(Item).all()
        """
    assert check(code, path="tests/test_items.py") == []


def test_a_module_that_names_no_web_framework_is_not_parsed() -> None:
    # Not even a syntax error is reported for it: no framework's name means no route to judge.
    assert run_example(UnboundedQuery, Valid("rows = session.query(User).all()\ndef broken(:\n")) == []
