"""Regenerate what is generated from the rule classes: one page a rule in docs/rules/ and
the rules table in README.md. ``--check`` writes nothing and exits 1 when either is stale
(the test suite runs the same comparison)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The rules of this checkout, whichever checkout the venv's `faultline` was installed from.
sys.path.insert(0, str(ROOT))

from faultline.analyzers.core.registry import documented_rules  # noqa: E402
from faultline.app.render.rule_docs import pages, with_readme_table  # noqa: E402


def generated(root: Path) -> dict[Path, str]:
    """Every generated file under ``root`` with the content it should have."""
    rules = documented_rules()
    files = {root / "docs" / "rules" / name: text for name, text in pages(rules).items()}
    readme = root / "README.md"
    files[readme] = with_readme_table(readme.read_text(encoding="utf-8"), rules)
    return files


def stale(root: Path) -> list[Path]:
    return [path for path, text in generated(root).items() if not path.is_file() or path.read_text() != text]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args()
    if args.check:
        out_of_date = stale(args.root)
        for path in out_of_date:
            print(f"stale: {path.relative_to(args.root)}")
        return 1 if out_of_date else 0
    for path, text in generated(args.root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
