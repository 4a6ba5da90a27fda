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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from faultline.analyzers.languages import Language, ParseError

if TYPE_CHECKING:
    from faultline.analyzers.core.source import SourceFile

# A line this long is a bundle or generated data, not code someone reviews line by line.
MINIFIED_LINE_CHARS = 1000
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


@dataclass(frozen=True)
class Script:
    """A parsed file: tree-sitter's tree and the bytes its offsets count in. ``root`` is None
    for a file read as empty (minified)."""

    root: tree_sitter.Node | None
    data: bytes
    _by_type: dict[str, list[tree_sitter.Node]] = field(default_factory=dict, compare=False, repr=False)

    def text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode(errors="replace")

    def nodes(self, kind: str) -> list[tree_sitter.Node]:
        """The named nodes of type ``kind``, in source order. The tree is walked once, the
        first time a rule asks, and every rule's questions are answered from that walk:
        walking a tree in Python costs more than parsing it, so no rule walks the whole
        file itself."""
        if self.root is None:
            return []
        if not self._by_type:
            self._by_type.update(_named_by_type(self.root))
        return self._by_type.get(kind, [])


def _named_by_type(root: tree_sitter.Node) -> dict[str, list[tree_sitter.Node]]:
    """Every named node under ``root`` by type, in pre-order (a cursor: no recursion, and
    no list of children made per node)."""
    found: dict[str, list[tree_sitter.Node]] = {}
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None and node.is_named:
            found.setdefault(node.type, []).append(node)
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found


@cache
def _parser(grammar: str) -> tree_sitter.Parser:
    loaders: dict[str, Callable[[], object]] = {
        "typescript": tree_sitter_typescript.language_typescript,
        "tsx": tree_sitter_typescript.language_tsx,
        "javascript": tree_sitter_javascript.language,
    }
    return tree_sitter.Parser(tree_sitter.Language(loaders[grammar]()))


def minified(text: str) -> bool:
    return any(len(line) > MINIFIED_LINE_CHARS for line in text.splitlines())


def _parse_with(grammar: str) -> Callable[[str, str], Script]:
    def parse(text: str, path: str) -> Script:
        data = text.encode()
        if minified(text):
            return Script(None, data)
        try:
            root = _parser(grammar).parse(data).root_node
        except (ValueError, RecursionError, MemoryError) as err:
            raise ParseError(f"cannot parse: {err}") from None
        broken = _top_level_error(root)
        if broken is not None:
            raise ParseError("syntax error", broken.start_point.row + 1)
        return Script(root, data)

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
    )


LANGUAGES = (
    _language("tsx", (".tsx",), "tsx", "tsx"),
    _language("typescript", (".ts", ".mts", ".cts"), "ts", "typescript"),
    _language("javascript", (".js", ".jsx", ".mjs", ".cjs"), "js", "javascript"),
)
