"""Real projects at pinned versions, downloaded as sdists into a temp folder.

They are never committed: ``FAULTLINE_BENCH_DIR`` (default: a folder in the
system temp dir) keeps them between runs. Run as a script to download them all
and print where each one is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# name, version, the folder inside the sdist that holds the project's own code
PROJECTS: dict[str, tuple[str, str]] = {
    "prefect": ("3.1.0", "src/prefect"),
    "mlflow": ("2.17.2", "mlflow"),
    "sqlalchemy": ("2.0.36", "lib/sqlalchemy"),
    "netbox": ("4.7.3", ""),
    "apache-superset": ("4.1.1", "superset"),
    "wagtail": ("6.3.1", "wagtail"),
    # Never used to tune the rules or the engine: a check that the figures hold beyond
    # the projects above.
    "apache-airflow": ("2.10.3", "airflow"),
    "nautobot": ("3.2.7", "nautobot"),  # a Django app
    "pulpcore": ("3.123.1", "pulpcore"),  # a Django REST framework app
}


def cache_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "faultline-bench"
    path = Path(os.environ.get("FAULTLINE_BENCH_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def project_root(name: str) -> Path:
    """Download and unpack ``name`` at its pinned version once; return its code folder."""
    version, inner = PROJECTS[name]
    target = cache_dir() / f"{name}-{version}"
    if not (target / ".complete").exists():
        _download(name, version, target)
    roots = [child for child in target.iterdir() if child.is_dir()]
    top = roots[0] if len(roots) == 1 else target
    return top / inner if inner else top


def _download(name: str, version: str, target: Path) -> None:
    archive_dir = cache_dir() / "archives"
    archive_dir.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            # Some projects need a newer Python than this one; only the sdist is wanted.
            "--python-version",
            "3.12",
            "-q",
            "-d",
            str(archive_dir),
            f"{name}=={version}",
        ],
        check=True,
    )
    stem = f"{name}-{version}".lower().replace("-", "_")
    archive = next(
        path for path in archive_dir.iterdir() if path.name.lower().replace("-", "_").startswith(stem)
    )
    target.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(target)
    else:
        with tarfile.open(archive) as tarred:
            tarred.extractall(target, filter="data")
    (target / ".complete").touch()


def main() -> None:
    names = sys.argv[1:] or list(PROJECTS)
    for name in names:
        print(f"{name}: {project_root(name)}")


if __name__ == "__main__":
    main()
