"""Speed: ``faultline check --all`` against ruff, pylint, Fixit and a bare parse.

Every tool runs as its own subprocess on the same Python files of each project
from ``bench/projects.py``, one after the other, so each gets the whole machine
and its peak RSS is its own. Prints, per project, files, lines, wall seconds
(whole process, start-up included), lines/second, peak RSS and the ratios, then
PASS/FAIL for the targets. Exit code 1 when a target fails.

    python bench/analyze.py [--projects prefect,mlflow] [--skip pylint,fixit]
                            [--tools ...] [--repeat N] [--profile]
    python bench/analyze.py typescript FOLDER... [--peers]   # see bench/typescript.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RUFF_RULES = "BLE001,E722"
PYLINT_CHECKS = "broad-exception-caught,bare-except"
# The installed faultline (this checkout, see require_this_checkout), as the `faultline`
# command runs it. -P: the project folder is the working directory, and `python -m` would put
# it first on sys.path, where airflow's own `secrets/` shadows the standard library's.
FAULTLINE = (sys.executable, "-P", "-m", "faultline")
# Faultline's checks, at the same cost as a user's run; "never" keeps the exit code 0.
FAULTLINE_ARGS = ("check", "--all", "--format", "json", "--fail-on", "never")
PARSE_MODES = ("ast", "libcst", "libcst-positions")
ALL_TOOLS = ("faultline", "ast", "libcst", "libcst-positions", "ruff", "pylint", "fixit")
# libcst with PositionProvider takes about a minute per 150k lines: only on request.
DEFAULT_TOOLS = ("faultline", "ast", "libcst", "ruff", "pylint", "fixit")

MAX_AST_RATIO = 1.5
MIN_FIXIT_SPEEDUP = 5.0
MAX_RSS_MB = 300.0
SAMPLE_SECONDS = 0.1
PROFILE_LINES = 25

EMPTY_CONFIG = "empty.toml"
FILE_LIST = "files.txt"


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    paths: tuple[str, ...]  # .py files, relative to root, as `faultline check --all` walks them
    lines: int

    @property
    def files(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float  # user + system of the process and its waited-for children
    peak_mb: float  # largest single process of the tree (ru_maxrss from wait4)
    tree_mb: float  # largest sum over the process tree, sampled every SAMPLE_SECONDS
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass
class Result:
    tool: str
    run: Run | None = None
    findings: int | None = None
    note: str = ""
    ok: bool = False  # ran to the end and its output was read


# ---------------------------------------------------------------------------
# the child that only parses: the floor any Python checker pays


def parse_child(mode: str, listfile: Path) -> None:
    """Parse every file named in ``listfile``; print files, errors and seconds as JSON."""
    paths = listfile.read_text(encoding="utf-8").splitlines()
    parse = _parser_for(mode)
    errors = 0
    start = time.perf_counter()
    for path in paths:
        data = Path(path).read_bytes()
        try:
            parse(data)
        except Exception:  # faultline: ignore[broad-except] any parser failure counts as one error
            errors += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"files": len(paths), "errors": errors, "seconds": seconds}))


def _parser_for(mode: str) -> Callable[[bytes], object]:
    if mode == "ast":
        import ast

        return ast.parse
    import libcst

    if mode == "libcst":
        return libcst.parse_module
    from libcst.metadata import MetadataWrapper, PositionProvider

    def with_positions(data: bytes) -> object:
        return MetadataWrapper(libcst.parse_module(data)).resolve(PositionProvider)

    return with_positions


# ---------------------------------------------------------------------------
# files


def load_project(name: str) -> Project:
    """The project's .py files as ``faultline check --all`` walks them, and their lines."""
    from projects import project_root

    from faultline.app.cli.workspace import whole_files

    root = project_root(name)
    walked = sorted(p for p in whole_files(root, False, []).changes.paths if p.endswith(".py"))
    everything = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if p.is_file())
    if walked != everything:
        missed = sorted(set(everything) - set(walked))
        print(
            f"{name}: faultline's walk skips {len(missed)} of {len(everything)} .py files "
            f"(e.g. {', '.join(missed[:3])}); all tools get the {len(walked)} it walks"
        )
    lines = sum((root / path).read_bytes().count(b"\n") for path in walked)
    return Project(name, root, tuple(walked), lines)


# ---------------------------------------------------------------------------
# measuring one process


def measure(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to the end: wall seconds, peak RSS of its largest process
    (from wait4, exact) and of its whole tree (sampled)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        peak = _maxrss_mb(usage.ru_maxrss)
        return Run(seconds, cpu, peak, sampler.peak_mb, proc.returncode, out.read(), err.read())


def _maxrss_mb(maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


class TreeSampler(threading.Thread):
    """Polls the summed RSS of a process and its descendants (Fixit's workers)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil  # type: ignore[import-untyped]

        try:
            top = psutil.Process(self.pid)
        except psutil.Error:
            return
        while True:
            total = 0
            try:
                for proc in (top, *top.children(recursive=True)):
                    total += proc.memory_info().rss
            except psutil.Error:
                pass  # a process ended between listing and reading: try again
            else:
                self.peak_mb = max(self.peak_mb, total / (1024 * 1024))
            if self._done.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


def fastest(runs: Sequence[Run]) -> Run:
    """The fastest of ``runs``, with the highest peak RSS of any."""
    best = min(runs, key=lambda run: run.seconds)
    peak = max(run.peak_mb for run in runs)
    tree = max(run.tree_mb for run in runs)
    return Run(best.seconds, best.cpu_seconds, peak, tree, best.exit_code, best.stdout, best.stderr)


# ---------------------------------------------------------------------------
# the tools


def executable(name: str) -> str | None:
    """The tool from this interpreter's environment, else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def require_this_checkout() -> None:
    """Stop unless ``python -m faultline`` runs this checkout (``pip install -e .``): the
    figures would otherwise be those of whatever copy is installed."""
    spec = importlib.util.find_spec("faultline")
    found = Path(spec.origin).resolve().parent if spec and spec.origin else None
    if found != REPO / "faultline":
        where = f"the one in {found}" if found else "none"
        raise SystemExit(
            f"python -m faultline must run this checkout ({REPO}), not {where}: "
            f"pip install -e '{REPO}[bench]'"
        )


def tool_env() -> dict[str, str]:
    """The environment of every tool, less PYTHONDONTWRITEBYTECODE: installed tools run
    from the .pyc files pip wrote, and Faultline must run from its own, not recompile
    each module on every run."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def read_result(tool: str, runs: Sequence[Run]) -> Result:
    run = fastest(runs)
    read = _read_parse if tool in PARSE_MODES else READERS[tool]
    try:
        findings, note = read(run)
    except (ValueError, KeyError, TypeError):  # unreadable output: json.JSONDecodeError is a ValueError
        return Result(tool, run, note=f"failed (exit {run.exit_code}): {_last_line(run.stderr)}")
    return Result(tool, run, findings, note, ok=True)


def _command(tool: str, project: Project, work: Path) -> list[str] | None:
    if tool == "faultline":
        return [*FAULTLINE, *FAULTLINE_ARGS]
    if tool in PARSE_MODES:
        return [sys.executable, str(Path(__file__).resolve()), "parse", tool, str(work / FILE_LIST)]
    path = executable(tool)
    if path is None:
        return None
    if tool == "ruff":
        # --isolated: the project's own ruff settings must not change what is checked.
        return [path, "check", "--isolated", "--select", RUFF_RULES, "--no-cache", "--exit-zero",
                "--output-format", "json", *project.paths]  # fmt: skip
    if tool == "pylint":
        # An empty rcfile: the project's own pylint settings must not change what is checked.
        return [path, f"--rcfile={work / EMPTY_CONFIG}", "--disable=all", f"--enable={PYLINT_CHECKS}",
                "-j", "1", "--output-format=json", "--score=n", *project.paths]  # fmt: skip
    # Fixit as it runs by default: its own walk of the folder, its default rules
    # (an empty config file keeps any project config out), and a process pool of
    # os.cpu_count() spawned workers.
    return [path, "--config-file", str(work / EMPTY_CONFIG), "lint", "."]


def _read_faultline(run: Run) -> tuple[int | None, str]:
    report = json.loads(run.stdout)
    summary = report["summary"]
    parse_errors = sum(1 for finding in report["findings"] if finding["code"] == "FL000")
    note = (
        f"checked {summary['files_checked']}, FL000 {parse_errors}, rule errors {len(report['rule_errors'])}"
    )
    return summary["findings"], note


def _read_parse(run: Run) -> tuple[int | None, str]:
    counts = json.loads(run.stdout)
    return None, f"parse errors {counts['errors']}, in-process {counts['seconds']:.2f} s"


def _read_ruff(run: Run) -> tuple[int | None, str]:
    return len(json.loads(run.stdout)), ""


def _read_pylint(run: Run) -> tuple[int | None, str]:
    # pylint's exit code is a bit mask of the message kinds found: the JSON says whether it ran.
    return len(json.loads(run.stdout)), "-j 1"


def _read_fixit(run: Run) -> tuple[int | None, str]:
    walked = re.search(rb"(\d+) files? (?:checked|clean)", run.stderr)
    if walked is None:
        raise ValueError("no summary line from fixit")
    findings = len(re.findall(rb"^\S+@\d+:\d+ ", run.stdout, re.MULTILINE))
    return findings, f"{os.cpu_count()} workers, walked {int(walked.group(1))} files"


READERS: dict[str, Callable[[Run], tuple[int | None, str]]] = {
    "faultline": _read_faultline,
    "ruff": _read_ruff,
    "pylint": _read_pylint,
    "fixit": _read_fixit,
}


def _last_line(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


def load() -> str:
    """The 1-minute load average: above the CPU count, other work skews the timings."""
    return f"load {os.getloadavg()[0]:.2f}"


def versions(tools: Sequence[str]) -> str:
    parts = [f"python {sys.version.split()[0]}", f"{os.cpu_count()} CPUs", load()]
    try:
        import libcst

        parts.append(f"libcst {getattr(libcst, 'LIBCST_VERSION', '')}".strip())
    except ImportError:
        pass
    for tool in ("ruff", "pylint", "fixit"):
        path = executable(tool)
        if tool in tools and path is not None:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
            parts.append(out.strip().splitlines()[0] if out.strip() else tool)
    return ", ".join(parts)


# ---------------------------------------------------------------------------
# the report


HEADER: tuple[str, ...] = (
    "tool",
    "files",
    "lines",
    "seconds",
    "cpu s",
    "lines/s",
    "peak MB",
    "tree MB",
    "x ast",
    "x faultline",
    "findings",
)


def table(project: Project, results: Sequence[Result]) -> str:
    """One row per tool, the note last and unaligned."""
    rows = [(HEADER, "note")]
    rows.extend((_row(project, result, results), result.note) for result in results)
    widths = [max(len(cells[i]) for cells, _ in rows) for i in range(len(HEADER))]
    lines = []
    for cells, note in rows:
        aligned = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append("  ".join([*aligned, note]).rstrip())
    return "\n".join(lines)


def _row(project: Project, result: Result, results: Sequence[Result]) -> tuple[str, ...]:
    run = result.run
    if run is None:
        return (result.tool, *("-" * (len(HEADER) - 1)))
    base = _seconds(results, "ast")
    ours = _seconds(results, "faultline")
    return (
        result.tool,
        str(project.files),
        f"{project.lines:,}",
        f"{run.seconds:.2f}",
        f"{run.cpu_seconds:.2f}",
        f"{project.lines / run.seconds:,.0f}",
        f"{run.peak_mb:.0f}",
        f"{run.tree_mb:.0f}" if run.tree_mb else "-",
        f"{run.seconds / base:.2f}" if base else "-",
        f"{run.seconds / ours:.2f}" if ours else "-",
        "-" if result.findings is None else str(result.findings),
    )


def _run(results: Sequence[Result], tool: str) -> Run | None:
    """The tool's run, if it ran to the end."""
    for result in results:
        if result.tool == tool and result.ok:
            return result.run
    return None


def _seconds(results: Sequence[Result], tool: str) -> float | None:
    run = _run(results, tool)
    return run.seconds if run else None


def targets(project: Project, results: Sequence[Result], largest: bool) -> list[tuple[str, str]]:
    """(PASS, FAIL or SKIP, what was compared) per target. Verdicts go by wall
    seconds; the CPU-time ratio is shown beside it, as it moves less under load."""
    ours, ast_run, fixit, pylint = (_run(results, tool) for tool in ("faultline", "ast", "fixit", "pylint"))
    if ours is None:
        return [("SKIP", "faultline did not run")]
    checks: list[tuple[str, str]] = []
    if ast_run:
        ratio = ours.seconds / ast_run.seconds
        checks.append(
            (
                _verdict(ratio <= MAX_AST_RATIO),
                f"faultline --all within {MAX_AST_RATIO:g}x of ast.parse: {ours.seconds:.2f} s / "
                f"{ast_run.seconds:.2f} s = {ratio:.2f}x "
                f"(CPU time {ours.cpu_seconds / ast_run.cpu_seconds:.2f}x)",
            )
        )
    if fixit:
        speedup = fixit.seconds / ours.seconds
        checks.append(
            (
                _verdict(speedup >= MIN_FIXIT_SPEEDUP),
                f"faultline at least {MIN_FIXIT_SPEEDUP:g}x Fixit's lines/s: "
                f"{project.lines / ours.seconds:,.0f} vs {project.lines / fixit.seconds:,.0f} "
                f"= {speedup:.1f}x (CPU time {fixit.cpu_seconds / ours.cpu_seconds:.1f}x)",
            )
        )
    if pylint:
        checks.append(
            (
                _verdict(ours.seconds < pylint.seconds),
                f"faultline faster than pylint: {ours.seconds:.2f} s vs {pylint.seconds:.2f} s "
                f"(CPU time {ours.cpu_seconds:.2f} s vs {pylint.cpu_seconds:.2f} s)",
            )
        )
    if largest:
        checks.append(
            (
                _verdict(ours.peak_mb < MAX_RSS_MB),
                f"faultline peak RSS under {MAX_RSS_MB:g} MB on the largest project: {ours.peak_mb:.0f} MB",
            )
        )
    return checks


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------
# profile


def profile(project: Project, work: Path) -> str:
    """Where faultline's time goes on ``project``: cProfile's top functions."""
    import io
    import pstats

    stats_file = work / f"{project.name}.prof"
    command = [
        sys.executable,
        "-P",
        "-m",
        "cProfile",
        "-o",
        str(stats_file),
        "-m",
        "faultline",
        *FAULTLINE_ARGS,
    ]
    subprocess.run(command, cwd=project.root, env=tool_env(), capture_output=True, check=False)
    out = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=out)
    stats.strip_dirs()
    out.write(f"\n-- cProfile of faultline --all on {project.name}: by own time --\n")
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    out.write(f"\n-- cProfile of faultline --all on {project.name}: by cumulative time --\n")
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    return out.getvalue()


# ---------------------------------------------------------------------------
# main


def bench_project(name: str, tools: Sequence[str], repeat: int, work: Path) -> tuple[Project, list[Result]]:
    project = load_project(name)
    (work / FILE_LIST).write_text("".join(f"{project.root / p}\n" for p in project.paths), encoding="utf-8")
    commands = {tool: _command(tool, project, work) for tool in tools}
    env = tool_env()
    if commands.get("faultline"):
        measure(
            commands["faultline"], project.root, env
        )  # a warm-up run, not counted: it writes the .pyc files
    # Round by round, every tool once per round: on a shared machine the load drifts, and
    # runs made close together compare more fairly than one tool's runs after another's.
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    for round_number in range(1, repeat + 1):
        for tool, command in commands.items():
            if command is not None:
                print(f"  {name}: {tool} ({round_number}/{repeat}) ...", file=sys.stderr, flush=True)
                runs[tool].append(measure(command, project.root, env))
    results = [
        read_result(tool, runs[tool])
        if runs[tool]
        else Result(tool, note="not installed (pip install -e '.[bench]')")
        for tool in tools
    ]
    return project, results


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["parse"]:
        parse_child(args[1], Path(args[2]))
        return 0
    if args[:1] == ["typescript"]:  # the TypeScript corpus: folders of frontend code
        from typescript import main as typescript_main

        return typescript_main(args[1:])
    require_this_checkout()
    from projects import PROJECTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", default=",".join(PROJECTS), help="comma-separated (default: all)")
    parser.add_argument(
        "--tools",
        default=",".join(DEFAULT_TOOLS),
        help=f"comma-separated, in order (default: {','.join(DEFAULT_TOOLS)}; all: {','.join(ALL_TOOLS)})",
    )
    parser.add_argument("--skip", default="", help="comma-separated tools to leave out, e.g. pylint,fixit")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the fastest counts (default 1)")
    parser.add_argument("--profile", action="store_true", help="also cProfile faultline on the first project")
    options = parser.parse_args(args)
    projects = _names(options.projects, list(PROJECTS), "project")
    skip = set(_names(options.skip, ALL_TOOLS, "tool"))
    tools = [tool for tool in _names(options.tools, ALL_TOOLS, "tool") if tool not in skip]

    print(versions(tools))
    measured: list[tuple[Project, list[Result]]] = []
    with tempfile.TemporaryDirectory(prefix="faultline-speed-") as folder:
        work = Path(folder)
        (work / EMPTY_CONFIG).write_text("", encoding="utf-8")
        for name in projects:
            project, results = bench_project(name, tools, options.repeat, work)
            measured.append((project, results))
            print(f"\n{project.name}: {project.files} files, {project.lines:,} lines ({load()} at the end)")
            print(table(project, results), flush=True)
        profile_text = profile(measured[0][0], work) if options.profile and measured else ""
    status = report_targets(measured)
    print(profile_text, end="")
    return status


RATIO_HEADER = ("project", "files", "lines", "faultline s", "ast s", "x ast", "cpu x ast", "verdict")


def ratio_table(measured: Sequence[tuple[Project, Sequence[Result]]]) -> str:
    """One line per project: the seconds of both, their ratio (wall and CPU) and the verdict."""
    rows = [RATIO_HEADER]
    for project, results in measured:
        ours, base = _run(results, "faultline"), _run(results, "ast")
        if ours is None or base is None:
            continue
        ratio = ours.seconds / base.seconds
        rows.append(
            (
                project.name,
                str(project.files),
                f"{project.lines:,}",
                f"{ours.seconds:.2f}",
                f"{base.seconds:.2f}",
                f"{ratio:.2f}",
                f"{ours.cpu_seconds / base.cpu_seconds:.2f}",
                _verdict(ratio <= MAX_AST_RATIO),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(RATIO_HEADER))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def report_targets(measured: Sequence[tuple[Project, Sequence[Result]]]) -> int:
    if not measured:
        return 0
    largest = max(measured, key=lambda item: item[0].lines)[0]
    failed = False
    print()
    for project, results in measured:
        print(f"targets on {project.name}{' (largest)' if project is largest else ''}:")
        for verdict, text in targets(project, results, project is largest):
            failed |= verdict == "FAIL"
            print(f"  {verdict}  {text}")
    print(f"\nfaultline --all against ast.parse, target {MAX_AST_RATIO:g}x ({load()}):")
    print(ratio_table(measured))
    pairs = [
        (ours, base)
        for _, r in measured
        if (ours := _seconds(r, "faultline")) and (base := _seconds(r, "ast"))
    ]
    if len(pairs) > 1:
        ratios = [ours / base for ours, base in pairs]
        total, floor = sum(ours for ours, _ in pairs), sum(base for _, base in pairs)
        print(
            f"faultline/ast.parse over {len(pairs)} projects: {total:.2f} s / {floor:.2f} s = "
            f"{total / floor:.2f}x, median {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
