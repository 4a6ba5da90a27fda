"""TypeScript and JavaScript: ``.ts``, ``.tsx``, ``.js``, ``.jsx``, ``.mjs``, ``.cjs``, parsed
with tree-sitter (``.tsx`` with the tsx grammar, ``.ts`` with the typescript one, the rest with
the javascript grammar, which reads JSX too).

tree-sitter always gives a tree: it wraps what it cannot read in ERROR nodes and goes on. A file
is a parse error (FL000) only when an ERROR node sits at the top level of the program: there the
statements around it are guesses. An ERROR deeper down (one broken expression) leaves the rest of
the file readable, and rules see it as it is. Minified bundles parse to one enormous line that no
rule has anything to say about: they are read as an empty program instead of being parsed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from faultline.analyzers.languages import Language, ParseError

if TYPE_CHECKING:
    import tree_sitter

    from faultline.analyzers.core.source import SourceFile

# A line this long is a bundle or generated data, not code someone reviews line by line.
MINIFIED_LINE_CHARS = 1000
# Shorter bundles (a bundler's small chunks, `clipboard.26e62f1b.js`) are told by a long line of
# dense code: statements packed with almost no white space. A long string (a data URI, a key)
# has no statements in it, so a hand-written file holding one is still read.
DENSE_LINE_CHARS = 300
DENSE_MAX_SPACE = 0.08
DENSE_MIN_STATEMENTS = 5
# A folder of built, vendored or installed code, and minified files: never a change to review.
GENERATED_GLOBS = (
    "*.min.js",
    "*.min.mjs",
    "*.bundle.js",
    "**/dist/**",
    "**/build/**",
    "**/node_modules/**",
    "**/vendor/**",
    "**/.next/**",
)
TEST_GLOBS = (
    *GENERATED_GLOBS,
    "*.test.*",
    "*.spec.*",
    "*.cy.*",
    "*.stories.*",
    "*.d.ts",
    "**/__tests__/**",
    "**/__mocks__/**",
    "**/e2e/**",
    "**/cypress/**",
    "**/playwright/**",
    "*.config.*",
)
SCRIPT_PATTERNS = ("*.ts", "*.tsx", "*.mts", "*.cts", "*.js", "*.jsx", "*.mjs", "*.cjs")


# The node kinds the rules ask for, found by one query (in C) the first time a rule asks for
# any of them; another kind costs a query of its own.
INDEXED_KINDS = (
    "call_expression",
    "expression_statement",
    "catch_clause",
    "function_declaration",
    "variable_declarator",
    "required_parameter",
    "optional_parameter",
    "formal_parameters",
    "import_specifier",
)


@dataclass(frozen=True)
class Script:
    """A parsed file: tree-sitter's tree and the bytes its offsets count in. ``root`` is None
    for a file read as empty (minified). ``grammar`` names the grammar that parsed it."""

    root: tree_sitter.Node | None
    data: bytes
    grammar: str = "javascript"
    _by_type: dict[str, list[tree_sitter.Node]] = field(default_factory=dict, compare=False, repr=False)

    def text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode(errors="replace")

    def nodes(self, kind: str) -> list[tree_sitter.Node]:
        """The named nodes of type ``kind``, in source order (pre-order). Found once per file
        for every rule, by a tree-sitter query: walking a tree in Python costs more than
        parsing it, so no rule walks the whole file itself."""
        if self.root is None:
            return []
        if kind not in self._by_type:
            from tree_sitter import QueryCursor

            kinds = INDEXED_KINDS if kind in INDEXED_KINDS else (kind,)
            query = _kinds_query(self.grammar, kinds)
            found = QueryCursor(query).captures(self.root) if query is not None else {}
            for each in kinds:
                self._by_type[each] = sorted(found.get(each, []), key=_pre_order)
        return self._by_type[kind]


def _pre_order(node: tree_sitter.Node) -> tuple[int, int]:
    # A query gives nodes by where their match ends; an outer node of a kind starts where an
    # inner one of the same kind does, or before it, and ends after it.
    return node.start_byte, -node.end_byte


@cache
def _kinds_query(grammar: str, kinds: tuple[str, ...]) -> tree_sitter.Query | None:
    """One pattern per kind the grammar has (``required_parameter`` is TypeScript's only).
    Compiling costs 2 to 5 ms for the typescript and tsx grammars (0.7 ms for javascript)
    however few the patterns: tree-sitter analyses every parse state of the grammar first.
    Hence one query per grammar for every indexed kind."""
    from tree_sitter import Query

    language = _parser(grammar).language
    if language is None:
        return None
    known = [kind for kind in kinds if language.id_for_node_kind(kind, True) is not None]
    if not known:
        return None
    return Query(language, " ".join(f"({kind}) @{kind}" for kind in known))


# The package and function of each grammar. tree-sitter is imported on the first parse: a run
# without scripts (a Python project) never loads it.
GRAMMARS = {
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "javascript": ("tree_sitter_javascript", "language"),
}


@cache
def _parser(grammar: str) -> tree_sitter.Parser:
    from tree_sitter import Language, Parser

    package, function = GRAMMARS[grammar]
    return Parser(Language(getattr(_binding(package), function)()))


@cache
def _binding(package: str) -> ModuleType:
    """A grammar package's compiled module, loaded without the package's ``__init__``, which
    imports ``importlib.resources`` (tempfile, shutil, zipfile: about 6 ms) for highlighting
    queries nothing here reads. The package's own import when its layout is not the usual one."""
    spec = importlib.util.find_spec(package)
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for suffix in EXTENSION_SUFFIXES if folders else ():
        path = Path(folders[0], f"_binding{suffix}")
        if path.is_file():
            loader = ExtensionFileLoader(f"{package}._binding", str(path))
            binding = importlib.util.spec_from_loader(loader.name, loader)
            if binding is not None:
                module = importlib.util.module_from_spec(binding)
                loader.exec_module(module)
                return module
    return importlib.import_module(f"{package}._binding")


def minified(text: str) -> bool:
    return any(_bundled(line) for line in text.splitlines() if len(line) > DENSE_LINE_CHARS)


# How much of a file ``bundle`` reads: a bundle's first lines are already minified.
BUNDLE_HEAD_CHARS = 64 * 1024


def bundle(source: SourceFile) -> bool:
    """A minified file, told from its first ``BUNDLE_HEAD_CHARS``: the engine then runs no rule
    on it, and spares the search of megabytes for needles and the rules' own looks. A line cut
    at the end of the head is judged by its length alone (its rest may change its density, but
    only add to its length): a webpack chunk is a licence comment and one line of a megabyte.
    A file this misses is still read as empty when parsed. An undecodable file is left to the
    rules (FL000)."""
    try:
        text = source.text
    except ParseError:
        return False
    lines = text[:BUNDLE_HEAD_CHARS].splitlines()
    if len(text) > BUNDLE_HEAD_CHARS and lines:
        if len(lines[-1]) > MINIFIED_LINE_CHARS:
            return True
        lines.pop()
    return any(_bundled(line) for line in lines if len(line) > DENSE_LINE_CHARS)


def _bundled(line: str) -> bool:
    if len(line) > MINIFIED_LINE_CHARS:
        return True
    spaces = line.count(" ") + line.count("\t")
    statements = line.count(";") + line.count("{")
    return spaces < DENSE_MAX_SPACE * len(line) and statements >= DENSE_MIN_STATEMENTS


def _parse_with(grammar: str) -> Callable[[str, str], Script]:
    def parse(text: str, path: str) -> Script:
        data = text.encode()
        if minified(text):
            return Script(None, data, grammar)
        try:
            root = _parser(grammar).parse(data).root_node
        except (ValueError, RecursionError, MemoryError) as err:
            raise ParseError(f"cannot parse: {err}") from None
        broken = _top_level_error(root)
        if broken is not None:
            raise ParseError("syntax error", broken.start_point.row + 1)
        return Script(root, data, grammar)

    return parse


def _top_level_error(root: tree_sitter.Node) -> tree_sitter.Node | None:
    if root.type == "ERROR":
        return root
    return next((child for child in root.children if child.type == "ERROR"), None)


def script(source: SourceFile) -> Script:
    """The file's tree (parsed once, shared by every rule); ParseError if it has none."""
    tree = source.tree
    if not isinstance(tree, Script):
        raise ParseError(f"{source.path} is not TypeScript or JavaScript")
    return tree


def _language(name: str, suffixes: tuple[str, ...], fence: str, grammar: str) -> Language:
    return Language(
        name=name,
        suffixes=suffixes,
        # ``// faultline: ignore[...]``, and ``{/* faultline: ignore[...] */}`` inside JSX.
        comment_prefixes=("//", "/*"),
        test_globs=TEST_GLOBS,
        fence=fence,
        parse=_parse_with(grammar),
        generated=bundle,
    )


LANGUAGES = (
    _language("tsx", (".tsx",), "tsx", "tsx"),
    _language("typescript", (".ts", ".mts", ".cts"), "ts", "typescript"),
    _language("javascript", (".js", ".jsx", ".mjs", ".cjs"), "js", "javascript"),
)
