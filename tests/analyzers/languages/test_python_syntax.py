"""Python 3.12-3.14 syntax read by this interpreter: the same tree, lines and columns."""

from __future__ import annotations

import ast
import sys
import textwrap
import warnings
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from faultline.analyzers.core.changes import ChangeSet
from faultline.analyzers.core.config import Config
from faultline.analyzers.core.engine import Engine
from faultline.analyzers.core.findings import Severity
from faultline.analyzers.core.repo import MemoryRepoView
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.source import ParseError, SourceFile, split_lines
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.languages.python_lowering import lower
from faultline.analyzers.languages.python_syntax import parse_module
from faultline.analyzers.rules.errors.broad_except import BroadExcept

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "new_syntax"
SAMPLES = sorted(FIXTURES.glob("*.py"))
# These compare the fallback's trees with what Python 3.11 makes of the same code written in
# its own syntax. Python 3.12 and later read most of this syntax themselves (parse_module then
# gives ast.parse's own tree), and place the parts of an f-string otherwise.
ON_3_11 = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="the trees of Python 3.11: this interpreter reads newer syntax"
)


def parse(code: str) -> ast.Module:
    return parse_module(textwrap.dedent(code), "app/m.py")


def dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


# --- the tree of the same code in 3.11 syntax ---------------------------------

# (newer syntax, the same code as this interpreter writes it with every node at the same place)
TWINS = [
    # PEP 701: the same quotes nested, a backslash, a comment, line ends in a replacement field
    ('x = f"{d["k"]}"\n', "x = f\"{d['k']}\"\n"),
    ('x = f"{d["k"]!r:>{w}} and {e}"\n', "x = f\"{d['k']!r:>{w}} and {e}\"\n"),
    ('x = f"{f"{d[k]}"}"\n', "x = f\"{f'{d[k]}'}\"\n"),
    ('x = f"é{d["k"]}ü" ; y = f"{z}"\n', 'x = f"é{d[\'k\']}ü" ; y = f"{z}"\n'),
    ('x = f"{d[k] = } {"v"}"\n', "x = f\"{d[k] = } {'v'}\"\n"),
    ('x = f"{d[k]=!s:3} {"v"}"\n', "x = f\"{d[k]=!s:3} {'v'}\"\n"),
    ('x = f"{x:{"w"}}"\n', "x = f\"{x:{'w'}}\"\n"),
    # PEP 701: spaces after the conversion
    ('x = f"{x!r }"\n', 'x = f"{x !r}"\n'),
    ('x = f"{x!s :>{w}} {y}"\n', 'x = f"{x !s:>{w}} {y}"\n'),
    ('x = f"\\N{EM DASH}{"a"}\\t{{}}\\x41"\n', "x = f\"\\N{EM DASH}{'a'}\\t{{}}\\x41\"\n"),
    ('x = rf"\\d{"a"}\\t{{}}"\n', "x = rf\"\\d{'a'}\\t{{}}\"\n"),
    ('x = ("ab" f"{d["k"]}"\n     "cd" f"{e}")\n', 'x = ("ab" f"{d[\'k\']}"\n     "cd" f"{e}")\n'),
    (
        'log.info(f"{d["k"]}".upper(), extra={"k": f"{"v"}"})\n',
        'log.info(f"{d[\'k\']}".upper(), extra={"k": f"{\'v\'}"})\n',
    ),
    ('x = f"""\n{d["""k"""]}\n"""\n', "x = f'''\n{d[\"\"\"k\"\"\"]}\n'''\n"),
    # PEP 750: a t-string reads as an f-string
    ('x = t"a{b!r}c"\n', 'x = f"a{b!r}c"\n'),
    ('x = Tr"a{b}" t"{c}"\n', 'x = Fr"a{b}" f"{c}"\n'),
    ('x = t"{d["k"]}"\n', "x = f\"{d['k']}\"\n"),
    ('x = f"{t"{a}"}"\n', "x = f\"{f'{a}'}\"\n"),
    # PEP 695 and PEP 696: the type parameters go, the rest stays where it was
    ("def f[T](x: T) -> T:\n    return x\n", "def f   (x: T) -> T:\n    return x\n"),
    ("async def f[T: int = bool, *Ts, **P](x): pass\n", "async def f(" + " " * 25 + "x): pass\n"),
    ("class C[T](Base, metaclass=M):\n    pass\n", "class C   (Base, metaclass=M):\n    pass\n"),
    ("class C[T]:\n    x: T\n", "class C   :\n    x: T\n"),
    ("class C[\n    T,\n]:\n    pass\n", "class C(\n    \n):\n    pass\n"),
    (
        "def f[\n    T,  # the row\n    U = str,\n](\n    x: T,\n) -> U: ...\n",
        "def f(\n\n\n\n    x: T,\n) -> U: ...\n",
    ),
    ("@dec\ndef f[T](x): pass\n", "@dec\ndef f   (x): pass\n"),
    ('@get(f"/{d["k"]}")\ndef f(): pass\n', "@get(f\"/{d['k']}\")\ndef f(): pass\n"),
]


@ON_3_11
@pytest.mark.parametrize(("new", "old"), TWINS)
def test_newer_syntax_gives_the_tree_of_its_older_twin(new: str, old: str) -> None:
    with pytest.raises(SyntaxError):
        ast.parse(new)  # or the test would prove nothing
    assert dump(parse_module(new, "m.py")) == dump(ast.parse(old))


OLDER = """\
with (open(a) as f, open(b) as g):
    pass
match command.split():
    case [action, *rest] if (n := len(rest)) > 1:
        pass
    case {"k": v, **other}:
        pass
def f(a, /, b, *, c): ...
try:
    pass
except* (ValueError, TypeError) as group:
    pass
x = f"{a!r:>10}" f'{b["k"]}' "\\t"; y = rb"\\d"
print(*a, **k); lambda: (yield)
@decorator.attr[0](1)
class K(Base, metaclass=M): ...
"""


def test_older_syntax_in_a_file_that_needs_the_fallback_keeps_its_tree() -> None:
    tree = parse_module(OLDER + "type X = int\n", "m.py")
    assert [dump(node) for node in tree.body[:-1]] == [dump(node) for node in ast.parse(OLDER).body]


def test_the_fast_path_returns_what_ast_parse_does() -> None:
    code = "try:\n    x = f'{a!r}'\nexcept (A, B):\n    pass\n"
    assert dump(parse(code)) == dump(ast.parse(code))


# --- statements whose shape changes ---------------------------------------------


def test_except_without_brackets_is_a_tuple_at_the_names() -> None:
    tree = parse("try:\n    pass\nexcept A, B:\n    pass\n")
    handler = tree.body[0].handlers[0]  # type: ignore[attr-defined]
    assert (handler.lineno, handler.col_offset, handler.end_lineno, handler.end_col_offset) == (3, 0, 4, 8)
    names = handler.type
    assert isinstance(names, ast.Tuple)
    assert [(n.id, n.col_offset, n.end_col_offset) for n in names.elts] == [("A", 7, 8), ("B", 10, 11)]
    assert (names.col_offset, names.end_col_offset) == (7, 11)


def test_except_star_keeps_the_columns_of_the_body_on_its_line() -> None:
    tree = parse("try:\n    pass\nexcept* A,B: log(a, k=b)\n")
    assert isinstance(tree.body[0], ast.TryStar)
    handler = tree.body[0].handlers[0]
    assert (handler.type.col_offset, handler.type.end_col_offset) == (8, 11)  # type: ignore[union-attr]
    call = handler.body[0].value  # type: ignore[attr-defined]
    assert (call.col_offset, call.end_col_offset) == (13, 24)
    assert (call.keywords[0].col_offset, call.keywords[0].value.col_offset) == (20, 22)
    assert handler.end_col_offset == 24


@ON_3_11
def test_a_tuple_in_a_replacement_field_spans_its_elements_as_in_3_12() -> None:
    for code, columns in [('x = f"{a, "b"}"\n', (7, 13)), ('x = f"{"a",}"\n', (7, 10))]:
        value = parse(code).body[0].value.values[0].value  # type: ignore[attr-defined]
        assert isinstance(value, ast.Tuple)
        assert (value.col_offset, value.end_col_offset) == columns


def test_except_with_a_trailing_comma_is_a_tuple_of_one() -> None:
    tree = parse("try:\n    pass\nexcept A, :\n    pass\n")
    names = tree.body[0].handlers[0].type  # type: ignore[attr-defined]
    assert isinstance(names, ast.Tuple)
    assert [name.id for name in names.elts] == ["A"]


@ON_3_11
def test_a_type_statement_is_an_assignment_from_the_type_keyword() -> None:
    tree = parse("class K:\n    type Rows[T] = list[tuple[T, int]]\n    x = 1; type Id = int\n")
    alias, _, short = tree.body[0].body  # type: ignore[attr-defined]
    assert isinstance(alias, ast.Assign)
    assert (alias.lineno, alias.col_offset, alias.end_lineno, alias.end_col_offset) == (2, 4, 2, 38)
    target = alias.targets[0]
    assert isinstance(target, ast.Name)
    assert (target.id, target.col_offset, target.end_col_offset) == ("Rows", 9, 13)
    assert (alias.value.col_offset, ast.unparse(alias.value)) == (19, "list[tuple[T, int]]")
    assert (short.col_offset, short.targets[0].col_offset, short.value.col_offset) == (11, 16, 21)


@ON_3_11
def test_a_type_statement_over_several_lines() -> None:
    tree = parse("type Rows[\n    T,  # the model\n    *Shape,\n] = list[tuple[T, *Shape]]\n")
    alias = tree.body[0]
    assert isinstance(alias, ast.Assign)
    assert (alias.lineno, alias.col_offset, alias.end_lineno) == (1, 0, 4)
    assert (alias.targets[0].lineno, alias.targets[0].col_offset) == (1, 5)
    assert (alias.value.lineno, alias.value.col_offset) == (4, 4)


@pytest.mark.parametrize(
    ("code", "name", "value"),
    [
        ("type \\\n    Rows = list[int]\n", (2, 4, 8), (2, 11)),
        ("type \\\n\tX= int\n", (2, 1, 2), (2, 4)),
        ("if a:\n    type \\\n        X \\\n        = int\n", (3, 8, 9), (4, 10)),
        ("type \\\n  Zähler= int\n", (2, 2, 9), (2, 11)),
        ("type Zähler[\n    T,\n] = list[T]\n", (1, 5, 12), (3, 4)),
    ],
)
def test_a_type_statement_continued_after_the_keyword(
    code: str, name: tuple[int, int, int], value: tuple[int, int]
) -> None:
    alias = next(node for node in ast.walk(parse(code)) if isinstance(node, ast.Assign))
    assert alias.col_offset == code.splitlines()[alias.lineno - 1].index("type")
    target = alias.targets[0]
    assert (target.lineno, target.col_offset, target.end_col_offset) == name
    assert (alias.value.lineno, alias.value.col_offset) == value
    assert_placed_like_libcst(code)


@ON_3_11
def test_type_as_a_name_is_not_a_statement() -> None:
    code = "type = 1\ntype(x)\nx: type = int\ny = type [0]\nprint(type, X)\ntype X = int\n"
    tree = parse(code)
    assert ast.unparse(tree).splitlines() == [
        "type = 1",
        "type(x)",
        "x: type = int",
        "y = type[0]",
        "print(type, X)",
        "X = int",
    ]


def test_a_multiline_replacement_field_keeps_its_expressions_where_they_are() -> None:
    code = 'summary = f"{\n    user.name  # the display name\n} has {\n    len(orders)\n:>5} orders"\n'
    value = parse(code).body[0].value  # type: ignore[attr-defined]
    assert isinstance(value, ast.JoinedStr)
    assert (value.lineno, value.col_offset, value.end_lineno, value.end_col_offset) == (1, 10, 5, 12)
    name, call = value.values[0].value, value.values[2].value  # type: ignore[attr-defined]
    assert (name.lineno, name.col_offset, name.end_col_offset) == (2, 4, 13)
    assert (call.lineno, call.col_offset, call.end_col_offset) == (4, 4, 15)
    assert ast.unparse(value) == "f'{user.name} has {len(orders):>5} orders'"


@pytest.mark.parametrize(
    ("code", "shown", "conversion"),
    [
        ('x = f"{a=\n}"\n', "a=\n", "r"),
        ('x = f"""{a = # why\n}"""\n', "a = \n", "r"),
        ('x = f"{a=\\\n!s}"\n', "a=", "s"),
        ('x = f"{a # why\n=}"\n', "a \n=", "r"),
        # 3.12 and 3.13.0 cut this text at the "#" (CPython issue 137182): it is kept as written.
        ('x = f"{d["#"]=}"\n', 'd["#"]=', "r"),
        ('x = f"{a!r # why\n}"\n', None, "r"),
    ],
)
def test_a_debug_field_shows_its_text_without_comments(code: str, shown: str | None, conversion: str) -> None:
    with pytest.raises(SyntaxError):
        ast.parse(code)
    value = parse(code).body[0].value  # type: ignore[attr-defined]
    assert isinstance(value, ast.JoinedStr)
    *text, formatted = value.values
    assert [item.value for item in text] == ([] if shown is None else [shown])  # type: ignore[attr-defined]
    assert isinstance(formatted, ast.FormattedValue)
    assert formatted.conversion == ord(conversion)


def test_windows_line_ends_give_the_same_tree() -> None:
    code = (FIXTURES / "orders_api.py").read_text()
    assert dump(parse_module(code.replace("\n", "\r\n"), "m.py")) == dump(parse_module(code, "m.py"))


def test_columns_after_non_ascii_text_are_utf8_offsets() -> None:
    code = 'msg = f"café {d["clé"]} — {n}"; after(1)\n'
    tree = parse(code)
    source = SourceFile("app/m.py", code.encode())
    call = tree.body[1].value  # type: ignore[attr-defined]
    assert ast.get_source_segment(code, call) == "after(1)"
    assert source.offset_to_column(1, call.col_offset) == code.index("after")


# --- every statement on its line, every name at its column ----------------------


def reference(code: str) -> tuple[list[tuple[int, int, int]], set[tuple[str, int, int, int, int]]]:
    """Statement spans and name positions as libcst reads the code (columns in characters)."""
    wrapper = MetadataWrapper(cst.parse_module(code), unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    kinds = (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.ExceptHandler, cst.ExceptStarHandler)
    statements, names = [], set()
    for node, where in positions.items():
        start, end = where.start, where.end
        if isinstance(node, kinds):
            statements.append((start.line, start.column, end.line))
        elif isinstance(node, cst.Name):
            names.add((node.value, start.line, start.column, end.line, end.column))
    return sorted(statements), names


def ours(code: str) -> tuple[list[tuple[int, int, int]], list[tuple[str, int, int, int, int]]]:
    tree = parse_module(code, "m.py")
    source = SourceFile("m.py", code.encode())
    statements, names = [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.stmt, ast.ExceptHandler)):
            column = source.offset_to_column(node.lineno, node.col_offset)
            statements.append((node.lineno, column, node.end_lineno or node.lineno))
        elif isinstance(node, ast.Name):
            start = source.offset_to_column(node.lineno, node.col_offset)
            end = source.offset_to_column(node.end_lineno or 0, node.end_col_offset or 0)
            names.append((node.id, node.lineno, start, node.end_lineno or 0, end))
    return sorted(statements), names


def assert_placed_like_libcst(code: str) -> None:
    statements, names = reference(code)
    our_statements, our_names = ours(code)
    assert our_statements == statements
    misplaced = [name for name in our_names if name not in names]
    assert misplaced == []


@ON_3_11
@pytest.mark.parametrize("path", SAMPLES, ids=[path.name for path in SAMPLES])
def test_sample_services_are_read_with_every_statement_and_name_in_place(path: Path) -> None:
    code = path.read_text()
    with pytest.raises(SyntaxError):
        ast.parse(code)
    assert_placed_like_libcst(code)


NAMES = st.sampled_from(["a", "db", "user", "é", "naïve_ü"])
CALLS = st.builds(
    lambda f, a, k: f"{f}.get({a}, key={k})", NAMES, NAMES, st.sampled_from(['"k"', "1", "f'{a}'"])
)
EXPRESSIONS = st.one_of(NAMES, CALLS, st.builds(lambda n: f'{n}["k"]', NAMES))
FIELDS = st.one_of(
    EXPRESSIONS,
    st.builds(lambda e: f'"\\n".join({e})', EXPRESSIONS),
    st.builds(lambda e: f"{e}  # why\n", EXPRESSIONS),
    st.builds(lambda e, n: f"\n    {e}\n    + {n}\n", EXPRESSIONS, NAMES),
    st.builds(lambda e: f"{e}!r:>{{width}}", EXPRESSIONS),
    st.builds(lambda e: f"{e} = ", EXPRESSIONS),
    st.builds(lambda e: f'f"{{{e}}}"', EXPRESSIONS),
)
PARAMS = st.sampled_from(
    ["T", "T: int", "T = str", "*Ts", "**P", "T: (int, str) = int", "K, V", "\n    T,\n"]
)
TEXT = st.sampled_from(["", "é ", "a {{b}} ", "\\t"])


def _fstring(prefix: str, parts: list[tuple[str, str]]) -> str:
    return prefix + '"' + "".join(f"{text}{{{field}}}" for text, field in parts) + '"'


STATEMENTS = st.one_of(
    st.builds(
        lambda e, a, b, star, body: f"try:\n    {e}\nexcept{star} {a}, {b}:{body}",
        EXPRESSIONS,
        NAMES,
        st.sampled_from(["ValueError", "Exception", "db.Error"]),
        st.sampled_from(["", "*"]),
        st.sampled_from(["\n    pass", " pass", " log(user, key=db)", ' log(f"{d["k"]}", key=db)']),
    ),
    st.builds(lambda n, p, e: f"type {n}[{p}] = list[{e}]", NAMES, PARAMS, NAMES),
    st.builds(lambda n, e: f"type {n} = {e}", NAMES, EXPRESSIONS),
    st.builds(
        lambda d, a, n, p, e: f"{d}{a}def {n}[{p}]({e}: int = 1) -> {e}:\n    return {e}",
        st.sampled_from(["", "@dec\n", "@dec(f'{a}')\n"]),
        st.sampled_from(["", "async "]),
        NAMES,
        PARAMS,
        NAMES,
    ),
    st.builds(
        lambda n, p, b: f"class {n}[{p}]{b}:\n    x: {n} = 1",
        NAMES,
        PARAMS,
        st.sampled_from(["", "(Base)", "(\n    Base,\n)"]),
    ),
    st.builds(
        lambda n, prefix, parts: f"{n} = {_fstring(prefix, parts)}",
        NAMES,
        st.sampled_from(["f", "t", "rf", "F"]),
        st.lists(st.tuples(TEXT, FIELDS), min_size=1, max_size=3),
    ),
    st.builds(lambda n, e: f"{n} = call({e}, k={n}); other({e})", NAMES, EXPRESSIONS),
    st.builds(lambda n, e: f'{n} = ("a"\n    f"{{{e}}}"  # c\n    "b")', NAMES, FIELDS),
)
BLOCKS = st.one_of(
    STATEMENTS,
    st.builds(lambda s: "class K:\n" + textwrap.indent(s, "    "), STATEMENTS),
    st.builds(lambda s: "if user:\n" + textwrap.indent(s, "  ") + "\nelse:\n  pass", STATEMENTS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BLOCKS, min_size=1, max_size=6))
def test_generated_modules_have_every_statement_and_name_where_libcst_puts_them(blocks: list[str]) -> None:
    code = "\n".join(blocks) + "\n"
    assert_placed_like_libcst(code)


# --- the lowering keeps the lines ----------------------------------------------

PYTHONISH = st.lists(
    st.sampled_from([*"abtfrTF é_:,;=*[](){}'\"\\#!.\n\r\t", "except ", "type ", "def ", "class ", '"""']),
    max_size=60,
).map("".join)


# Random text has escapes such as "\\q", which Python warns about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@settings(max_examples=500, deadline=None)
@given(PYTHONISH)
def test_lowering_any_text_keeps_every_line_and_its_width(text: str) -> None:
    lowered = lower(text)
    before, after = split_lines(text), split_lines(lowered.text)
    assert len(after) == len(before)
    for number, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        inserted = sum(length for _, length in lowered.inserted.get(number, []))
        assert len(new.encode()) == len(old.encode()) + inserted


# Random text has escapes such as "\\q", which Python warns about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@settings(max_examples=300, deadline=None)
@given(PYTHONISH)
def test_any_text_is_a_module_or_a_syntax_error(text: str) -> None:
    try:
        tree = parse_module(text, "m.py")
    except (SyntaxError, ValueError):
        return
    assert isinstance(tree, ast.Module)


# --- what no version reads ------------------------------------------------------

INVALID = [
    ("try:\n    pass\nexcept A, B as err:\n    pass\n", 3),
    ("def f[](): pass\n", 1),
    ("class C[]: pass\n", 1),
    ("type X[] = int\n", 1),
    ("type X\n", 1),
    ('x = f"{}"\n', 1),
    ('x = f"{d["k"]!z}"\n', 1),
    ('x = f"{d["k"]! r}"\n', 1),
    ('x = f"{d["k"]} }"\n', 1),
    ('x = t"a" "b"\n', 1),
    ('x = b"a" f"{d["k"]}"\n', 1),
    ('print "hello"\n', 1),
    ("type X = int\n\ndef f(:\n    pass\n", 3),
    ('x = f"{d["k"]}"\nif x\n    pass\n', 2),
    ("class C[T]:\n    pass\n  x = 1\n", 3),
    ('x = f"{d["k"]\n', 1),
]


@pytest.mark.parametrize(("code", "line"), INVALID)
def test_code_no_version_reads_is_a_syntax_error_on_its_line(code: str, line: int) -> None:
    with pytest.raises(SyntaxError) as caught:
        parse_module(code, "m.py")
    assert caught.value.lineno == line


def test_source_file_reports_the_error_without_naming_an_interpreter() -> None:
    source = SourceFile("app/m.py", b"type Id = int\n\ndef f(:\n    pass\n")
    with pytest.raises(ParseError) as caught:
        _ = source.tree
    assert caught.value.line == 3
    assert caught.value.message.startswith("syntax error: ")
    assert "3.11" not in caught.value.message


def test_source_file_reads_newer_syntax() -> None:
    source = SourceFile("app/m.py", b"type Id = int\ntry:\n    pass\nexcept A, B:\n    pass\n")
    assert [type(node).__name__ for node in source.tree.body] == ["Assign", "Try"]


# --- rules see the file ---------------------------------------------------------


def test_broad_except_is_reported_in_a_file_of_newer_syntax() -> None:
    code = textwrap.dedent(
        """\
        type Token = str

        class Auth[U]:
            async def current_user(self, token: Token, session) -> U:
                try:
                    payload = jwt.decode(token, KEY)
                    return await session.get(User, payload["sub"])
                except JWTError, Exception:
                    raise HTTPException(status_code=401, detail=f"{payload["sub"]} is unknown")
        """
    )
    findings = run_example(BroadExcept, Valid(code, path="app/auth.py"))
    assert [(f.code, f.line, f.column, f.severity) for f in findings] == [("FL001", 8, 9, Severity.ERROR)]
    assert "`except (JWTError, Exception)`" in findings[0].message
    assert findings[0].suggestion is not None
    assert findings[0].suggestion.replacement == "        except JWTError:"


def test_broad_except_is_reported_in_the_sample_service() -> None:
    code = (FIXTURES / "orders_api.py").read_text()
    findings = run_example(BroadExcept, Valid(code, path="app/orders.py"))
    line = code.splitlines().index("    except Exception:") + 1
    assert [(f.code, f.line, f.severity) for f in findings] == [("FL001", line, Severity.ERROR)]
    assert all(f.code != "FL000" for f in findings)


def test_every_rule_reads_the_sample_files_and_fl000_is_left_for_broken_ones() -> None:
    files = {f"app/{path.name}": path.read_bytes() for path in SAMPLES}
    files["app/broken.py"] = (
        b"type Id = int\n\nclass C[T]:\n    def f(self:\n"
        b"        try:\n            db.commit()\n        except Exception:\n            pass\n"
    )
    report = Engine(Config()).run(ChangeSet.whole(list(files)), MemoryRepoView(files))
    assert report.rule_errors == []
    parse_errors = [(f.path, f.line, f.message) for f in report.findings if f.code == "FL000"]
    assert parse_errors == [
        ("app/broken.py", 4, "Faultline could not check this file: syntax error: '(' was never closed")
    ]


# --- warnings the parser would give -----------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        'import re\nDIGITS = re.compile("\\d+")\n',  # invalid escape: a warning, an error under -W error
        "type Id = int\nPATTERN = f'{Id}\\d'\nx = 1 is 1\n",  # the same through the fallback
        'x = "\\d" f"{d["k"]}"\n',  # a plain string joined to a PEP 701 f-string
    ],
)
def test_code_the_parser_warns_about_is_read_even_where_warnings_are_errors(code: str) -> None:
    # PYTHONWARNINGS=error (set in some CI jobs) turns the parser's SyntaxWarning (3.12+) or
    # DeprecationWarning (3.11) into a SyntaxError: valid code must not become FL000.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = parse_module(code, "app/m.py")
    assert isinstance(tree.body[-1], ast.Assign)


def test_the_parser_writes_no_warning_about_the_code_it_reads() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_module('PATTERN = "\\d"\nx = 1 is 1\n', "app/m.py")
    assert [str(w.message) for w in caught] == []


def test_a_file_with_an_invalid_escape_is_checked_where_warnings_are_errors() -> None:
    code = 'import re\nDIGITS = re.compile("\\d+")\n\ntry:\n    db.commit()\nexcept Exception:\n    pass\n'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = run_example(BroadExcept, Valid(code, path="app/m.py"))
    assert [(f.code, f.line) for f in findings] == [("FL001", 6)]
