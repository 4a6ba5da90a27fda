"""FL012 query-in-loop beyond its examples: nested loops, diff mode, one hit per loop."""

from __future__ import annotations

import textwrap

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.performance.query_in_loop import QueryInLoop

LOOP = """\
def totals(session):
    for order in session.scalars(select(Order)):
        order.lines = session.scalars(select(Line).where(Line.order_id == order.id)).all()
{extra}
"""


def check(code: str, base: str | None = None, path: str = "app/report.py") -> list[Finding]:
    return run_example(QueryInLoop, Valid(textwrap.dedent(code), path=path, base=base))


def test_a_loop_is_one_finding_however_many_queries_it_makes() -> None:
    extra = "        order.owner = session.get(User, order.owner_id)\n"
    findings = check(LOOP.format(extra=extra))
    assert [finding.line for finding in findings] == [3]
    assert "(and 1 more call in the loop)" in findings[0].message


def test_in_a_diff_the_finding_is_on_the_added_query() -> None:
    extra = "        order.owner = session.get(User, order.owner_id)\n"
    findings = check(LOOP.format(extra=extra), base=LOOP.format(extra=""))
    assert [finding.line for finding in findings] == [4]


def test_an_inner_loop_owns_its_queries() -> None:
    code = """\
        def sync(session, users):
            for user in session.scalars(select(User)):
                for key in session.scalars(select(Key).where(Key.user_id == user.id)):
                    session.execute(update(Key).where(Key.id == key.id).values(seen=True))
        """
    findings = check(code)
    assert [finding.line for finding in findings] == [3, 4]


def test_a_loop_over_models_is_a_loop_over_the_schema() -> None:
    code = """\
        from django.db import models

        def purge(owner):
            for model in apps.get_models():
                model.objects.filter(owner=owner).delete()
        """
    assert check(code) == []


def test_a_lazy_queryset_built_in_a_loop_is_one_query_later() -> None:
    code = """\
        from django.db.models import Q

        def matching(rows):
            query = Content.objects.none()
            for row in Row.objects.all():
                query |= Content.objects.filter(digest=row.digest)
            return query
        """
    assert check(code) == []


def test_migrations_and_commands_are_one_off() -> None:
    code = """\
        def forwards(apps, schema_editor):
            for user in User.objects.all():
                Profile.objects.create(user=user)
        """
    assert check(code, path="app/management/commands/backfill.py") == []
    assert [finding.line for finding in check(code, path="app/profiles.py")] == [3]
    assert "`bulk_update`/`bulk_create`" in check(code, path="app/profiles.py")[0].message


def test_sync_http_calls_per_item_are_reported_only_with_a_client_import() -> None:
    code = """\
        import requests

        def notify(subscribers):
            for subscriber in subscribers:
                requests.post(subscriber.url, json={"event": "done"}, timeout=5)
        """
    findings = check(code)
    assert [finding.line for finding in findings] == [5]
    assert "one HTTP request per item of `subscribers`" in findings[0].message
    assert (
        check(code.replace("import requests", "import mylib as requests").replace("requests.post", "post"))
        == []
    )


def test_comprehensions_deep_in_a_long_expression_are_found() -> None:
    code = """\
        def report(session, order_ids, user_ids):
            return dict(
                title="orders",
                columns=["id", "owner"],
                orders=[
                    session.get(Order, order_id)
                    for order_id in order_ids
                ],
                meta={"count": len(order_ids)},
                owners={
                    "names": {uid: session.execute(select(User).where(User.id == uid)) for uid in user_ids},
                },
            )
        """
    assert [finding.line for finding in check(code)] == [6, 11]
