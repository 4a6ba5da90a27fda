"""Speed on TypeScript and JavaScript: ``faultline check --all`` against tree-sitter's bare parse,
ESLint with typescript-eslint (without and with type information), oxlint and Biome.

Point it at folders of real frontend code (a repository's ``clients/``, unpacked in a temp
folder, never committed). Every tool runs as its own process on the same files: the ``.ts``,
``.tsx``, ``.mts``, ``.cts``, ``.js``, ``.jsx``, ``.mjs`` and ``.cjs`` files that ``git
ls-files`` lists (every such file when the folder is no repository), in ``--repeat`` rounds of
every tool once, the fastest run of each counting; faultline has one warm-up run first, which
writes its ``.pyc`` files. The peers (``--peers``) are installed with npm, at the versions
pinned below, into a temp folder (``--npm-dir`` to keep one between runs), never into the
project. What each tool does:

- faultline: its four frontend rules (FL013-FL016) and whatever else applies, no types.
- tree-sitter: reads and parses each file with the grammar faultline uses for it, nothing
  more: the floor of any checker built on these trees. Target: faultline within 2x of it.
- eslint: ESLint with typescript-eslint's parser on every file, ``eslint:recommended`` plus
  typescript-eslint's ``recommended`` (syntax rules only, no type information): the
  single-threaded JavaScript peer doing comparable, type-free work.
- eslint-typed: the same parser with type information (a tsconfig listing the same files,
  ``allowJs``) and one rule, ``@typescript-eslint/no-floating-promises``: the rule FL014
  stands in for. Most of its time is TypeScript's checker. The project's ``node_modules`` is
  not installed, so imported packages' types are unknown: it finds less than in the
  project's own CI, and the time is a lower bound.
- oxlint: its default ``correctness`` category, one thread (``--threads=1``), no types.
- biome: ``biome lint`` with its recommended rules, the formatter off, no types; it uses
  every core (it has no thread option): compare its cpu seconds.

Prints, per folder, files, lines, wall and cpu seconds, lines/second (wall), peak memory,
the ratio to the bare parse and to faultline, and the findings (different rule sets: only a
sign that the tool ran), then PASS/FAIL for the target. Exit code 1 when a target fails.

    python bench/typescript.py /tmp/frontends/polar /tmp/frontends/redash [--repeat 3] [--peers]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from analyze import FAULTLINE, Run, fastest, load, measure, require_this_checkout, tool_env

MAX_PARSE_RATIO = 2.0
SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
FAULTLINE_ARGS = ("check", "--all", "--format", "json", "--fail-on", "never")
EMPTY_LIST = "nothing.txt"
NPM_PACKAGES = (
    "eslint@10.15.0",
    "@eslint/js@10.0.1",
    "typescript-eslint@8.74.0",
    "typescript@5.9.3",
    "oxlint@1.95.0",
    "@biomejs/biome@2.6.8",
)
PEERS = ("eslint", "eslint-typed", "oxlint", "biome")
TOOLS = ("faultline", "tree-sitter", *PEERS)
GLOB = "**/*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}"
ESLINT_SYNTAX = f"""import js from '@eslint/js';
import tseslint from 'typescript-eslint';
const files = ['{GLOB}'];
export default [
  {{ ...js.configs.recommended, files }},
  ...tseslint.configs.recommended.map((config) => ({{ ...config, files }})),
  {{ files,
    languageOptions: {{ parser: tseslint.parser, parserOptions: {{ ecmaFeatures: {{ jsx: true }} }} }},
    linterOptions: {{ reportUnusedDisableDirectives: 'off', noInlineConfig: true }} }},
];
"""
ESLINT_TYPED = f"""import tseslint from 'typescript-eslint';
const files = ['{GLOB}'];
export default [
  {{ files,
    languageOptions: {{ parser: tseslint.parser, parserOptions: {{
      project: process.env.FAULTLINE_BENCH_TSCONFIG, ecmaFeatures: {{ jsx: true }} }} }},
    plugins: {{ '@typescript-eslint': tseslint.plugin }},
    linterOptions: {{ reportUnusedDisableDirectives: 'off', noInlineConfig: true }},
    rules: {{ '@typescript-eslint/no-floating-promises': 'error' }} }},
];
"""
OXLINT_CONFIG = {"categories": {"correctness": "error"}}
BIOME_CONFIG = {
    "files": {"maxSize": 10 * 1024 * 1024},
    "vcs": {"enabled": False},
    "formatter": {"enabled": False},
    "assist": {"enabled": False},
    "linter": {"enabled": True, "rules": {"recommended": True}},
}
TSCONFIG_OPTIONS = {
    "allowJs": True,
    "checkJs": False,
    "jsx": "preserve",
    "noEmit": True,
    "skipLibCheck": True,
    "target": "ES2022",
    "module": "ESNext",
    "moduleResolution": "Bundler",
    "types": [],
}


@dataclass(frozen=True)
class Folder:
    root: Path
    paths: tuple[str, ...]
    lines: int
    listfile: Path
    tsconfig: Path


@dataclass(frozen=True)
class Result:
    tool: str
    run: Run
    findings: str  # what the tool reported, or why it failed


def files_of(root: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False)
    paths = listed.stdout.splitlines() if listed.returncode == 0 else []
    if not paths:
        paths = [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
    return sorted(path for path in paths if path.endswith(SUFFIXES))


def parse_child(root: Path, listfile: Path) -> None:
    """The floor: read and parse each file with the grammar faultline uses for it, nothing more."""
    from faultline.analyzers.languages import language_for

    errors = 0
    for path in listfile.read_text().splitlines():
        language = language_for(path)
        data = (root / path).read_bytes()
        if language is None or language.parse is None:
            continue
        try:
            language.parse(language.decode(data), path)
        except Exception:  # faultline: ignore[broad-except] counted, as faultline counts FL000
            errors += 1
    print(json.dumps({"errors": errors}))


# ---------------------------------------------------------------------------
# the peers


def install_peers(npm_dir: Path) -> Path:
    """The pinned peers in ``npm_dir/node_modules`` (installed once; npm keeps them there)."""
    npm_dir.mkdir(parents=True, exist_ok=True)
    (npm_dir / "package.json").write_text('{"private": true}\n')
    (npm_dir / "eslint.syntax.mjs").write_text(ESLINT_SYNTAX)
    (npm_dir / "eslint.typed.mjs").write_text(ESLINT_TYPED)
    (npm_dir / "oxlintrc.json").write_text(json.dumps(OXLINT_CONFIG))
    (npm_dir / "biome.json").write_text(json.dumps(BIOME_CONFIG))
    print(f"npm install {' '.join(NPM_PACKAGES)} ...", file=sys.stderr, flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--silent", *NPM_PACKAGES],
        cwd=npm_dir,
        check=True,
    )
    return npm_dir


def _biome_binary(npm_dir: Path) -> str:
    """The native binary itself, not the node script that starts it."""
    found = sorted((npm_dir / "node_modules" / "@biomejs").glob("cli-*/biome"))
    return str(found[0]) if found else str(npm_dir / "node_modules" / ".bin" / "biome")


def command(tool: str, folder: Folder, npm_dir: Path | None) -> list[str] | None:
    if tool == "faultline":
        return [*FAULTLINE, *FAULTLINE_ARGS]
    if tool == "tree-sitter":
        return [sys.executable, __file__, "--parse-child", str(folder.root), str(folder.listfile)]
    if npm_dir is None:
        return None
    modules = npm_dir / "node_modules"
    eslint = ["node", str(modules / "eslint" / "bin" / "eslint.js"), "--no-warn-ignored", "--format", "json"]
    if tool == "eslint":
        return [*eslint, "--config", str(npm_dir / "eslint.syntax.mjs"), *folder.paths]
    if tool == "eslint-typed":
        return [*eslint, "--config", str(npm_dir / "eslint.typed.mjs"), *folder.paths]
    if tool == "oxlint":
        oxlint = str(modules / ".bin" / "oxlint")
        return [oxlint, "-c", str(npm_dir / "oxlintrc.json"), "--disable-nested-config", "--threads=1",
                "--format", "json", *folder.paths]  # fmt: skip
    if tool == "biome":
        return [_biome_binary(npm_dir), "lint", f"--config-path={npm_dir / 'biome.json'}",
                "--max-diagnostics=none", "--reporter=summary", *folder.paths]  # fmt: skip
    raise ValueError(tool)


def _read_faultline(out: bytes) -> str:
    report = json.loads(out)
    fl000 = sum(1 for finding in report["findings"] if finding["code"] == "FL000")
    return f"{report['summary']['findings']} findings, FL000 {fl000}"


def _read_parse(out: bytes) -> str:
    return f"parse errors {json.loads(out)['errors']}"


def _read_eslint(out: bytes) -> str:
    files = json.loads(out)
    messages = [message for file in files for message in file["messages"]]
    found = sum(1 for message in messages if message.get("ruleId"))
    fatal = sum(1 for message in messages if message.get("fatal"))
    return f"{found} problems, parse errors {fatal}"


def _read_oxlint(out: bytes) -> str:
    return f"{len(json.loads(out)['diagnostics'])} diagnostics"


def _read_biome(out: bytes) -> str:
    counts = re.findall(r"Found (\d+) (error|warning|info)", out.decode(errors="replace"))
    if not counts and b"Checked" not in out:
        raise ValueError("no summary")
    return ", ".join(f"{number} {kind}s" for number, kind in counts) or "nothing"


READERS: dict[str, Callable[[bytes], str]] = {
    "faultline": _read_faultline,
    "tree-sitter": _read_parse,
    "eslint": _read_eslint,
    "eslint-typed": _read_eslint,
    "oxlint": _read_oxlint,
    "biome": _read_biome,
}


def read(tool: str, runs: Sequence[Run]) -> Result:
    run = fastest(runs)
    try:
        # biome writes its summary to stderr, the others their report to stdout.
        return Result(tool, run, READERS[tool](run.stdout + run.stderr if tool == "biome" else run.stdout))
    except (ValueError, KeyError, TypeError):
        tail = (run.stderr or run.stdout).decode(errors="replace").strip().splitlines()
        return Result(tool, run, f"failed (exit {run.exit_code}): {tail[-1] if tail else 'no output'}")


# ---------------------------------------------------------------------------
# one folder


def prepare(root: Path, work: Path) -> Folder:
    paths = tuple(files_of(root))
    listfile = work / f"{root.name}.txt"
    listfile.write_text("\n".join(paths) + "\n")
    tsconfig = work / f"tsconfig.{root.name}.json"
    files = [str(root / path) for path in paths]
    tsconfig.write_text(json.dumps({"compilerOptions": TSCONFIG_OPTIONS, "files": files}))
    lines = sum((root / path).read_bytes().count(b"\n") for path in paths)
    return Folder(root, paths, lines, listfile, tsconfig)


def bench(
    folder: Folder, tools: Sequence[str], repeat: int, npm_dir: Path | None, empty: Path
) -> tuple[list[Result], tuple[Run, Run]]:
    """The tools' runs, and faultline's and the bare parse's on ``empty`` (their start-up),
    measured in the same rounds."""
    env = tool_env()
    env["FAULTLINE_BENCH_TSCONFIG"] = str(folder.tsconfig)
    commands = {tool: command(tool, folder, npm_dir) for tool in tools}
    starts = {
        "faultline": [*FAULTLINE, *FAULTLINE_ARGS],
        "tree-sitter": [sys.executable, __file__, "--parse-child", str(empty), str(empty / EMPTY_LIST)],
    }
    measure(commands["faultline"] or [], folder.root, env)  # warm-up: .pyc files, grammars
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    start_runs: dict[str, list[Run]] = {tool: [] for tool in starts}
    for round_number in range(1, repeat + 1):
        for tool, argv in commands.items():
            if argv is not None:
                step = f"{tool} ({round_number}/{repeat})"
                print(f"  {folder.root.name}: {step} ...", file=sys.stderr, flush=True)
                runs[tool].append(measure(argv, folder.root, env))
        for tool, argv in starts.items():
            start_runs[tool].append(measure(argv, empty, env))
    results = [read(tool, runs[tool]) for tool in tools if runs[tool]]
    return results, (fastest(start_runs["faultline"]), fastest(start_runs["tree-sitter"]))


def empty_folder(work: Path) -> Path:
    """A repository with no script: faultline and the bare parse there pay only their start-up
    (interpreter, imports, ``git ls-files``, every rule's set-up)."""
    empty = work / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("empty\n")
    (empty / EMPTY_LIST).write_text("")
    subprocess.run(["git", "init", "-q"], cwd=empty, check=True)
    subprocess.run(["git", "add", "README.md"], cwd=empty, check=True)
    return empty


def report(folder: Folder, results: Sequence[Result], start: tuple[Run, Run]) -> bool:
    by_tool = {result.tool: result.run for result in results}
    parse, ours = by_tool["tree-sitter"], by_tool["faultline"]
    print(f"\n{folder.root.name}: {len(folder.paths)} files, {folder.lines:,} lines ({load()} at the end)")
    print(f"  {'tool':<13}{'seconds':>8}{'cpu s':>8}{'lines/s':>11}{'peak MB':>9}{'x parse':>9}"
          f"{'x faultline':>12}  findings")  # fmt: skip
    for result in results:
        run = result.run
        speed = folder.lines / run.seconds
        print(f"  {result.tool:<13}{run.seconds:8.2f}{run.cpu_seconds:8.2f}{speed:11,.0f}{run.peak_mb:9.0f}"
              f"{run.seconds / parse.seconds:9.2f}{run.seconds / ours.seconds:12.2f}"
              f"  {result.findings}")  # fmt: skip
    ratio = ours.seconds / parse.seconds
    ok = ratio <= MAX_PARSE_RATIO
    print(
        f"  faultline / bare parse: {ratio:.2f}x wall, {ours.cpu_seconds / parse.cpu_seconds:.2f}x cpu "
        f"(target <= {MAX_PARSE_RATIO}x wall): {'PASS' if ok else 'FAIL'}"
    )
    ours_start, parse_start = start
    ours_rest, parse_rest = ours.seconds - ours_start.seconds, parse.seconds - parse_start.seconds
    rest = f"{ours_rest / parse_rest:.2f}x" if ours_rest > 0 and parse_rest > 0 else "n/a (within the noise)"
    print(
        f"  start-up (an empty folder, same rounds): faultline {ours_start.seconds:.2f} s, bare parse "
        f"{parse_start.seconds:.2f} s; the rest: {rest} (not the target)"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest run counts (default 3)")
    parser.add_argument("--peers", action="store_true", help="also ESLint, oxlint and Biome (npm install)")
    parser.add_argument("--skip", default="", help=f"comma-separated peers to leave out ({','.join(PEERS)})")
    parser.add_argument("--npm-dir", type=Path, help="where the peers are installed (default: a temp folder)")
    parser.add_argument("--parse-child", nargs=2, metavar=("ROOT", "LIST"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.parse_child:
        parse_child(Path(options.parse_child[0]), Path(options.parse_child[1]))
        return 0
    require_this_checkout()
    skip = {name.strip() for name in options.skip.split(",") if name.strip()}
    if skip - set(PEERS):
        parser.error(f"unknown peers: {', '.join(sorted(skip - set(PEERS)))}")
    tools = [tool for tool in TOOLS if tool not in skip and (options.peers or tool not in PEERS)]
    results: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="faultline-bench-ts-") as scratch:
        work = Path(scratch)
        npm_dir = install_peers(options.npm_dir or work / "npm") if options.peers else None
        peers = " ".join(NPM_PACKAGES) if npm_dir else "none"
        print(f"python {sys.version.split()[0]}, {load()}, peers: {peers}")
        empty = empty_folder(work)
        for root in options.folders:
            folder = prepare(root.resolve(), work)
            runs, start = bench(folder, tools, options.repeat, npm_dir, empty)
            results.append(report(folder, runs, start))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
