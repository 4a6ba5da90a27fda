"""The wheel as a user installs it: one ``faultline`` import package beside a project's own
``app`` and ``analyzers``, a CLI without the App's server stack, ``python -m faultline``.

Offline: the wheel is built without build isolation, installed with ``--no-deps`` into a new
venv, and the dependencies come from the test venv's site-packages through a ``.pth`` line.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from faultline import __version__

ROOT = Path(__file__).resolve().parent.parent
SERVER_STACK = {"fastapi", "uvicorn", "githubkit", "huey", "cryptography", "structlog", "pydantic-settings"}


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def build_wheel(source: Path, out: Path) -> Path:
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out]
    proc = run(*pip, source, cwd=source)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("wheel"))


def user_project(folder: Path) -> Path:
    """A FastAPI-style project with its own top-level ``app`` and ``analyzers`` packages."""
    for package in ("app", "analyzers"):
        (folder / package).mkdir(parents=True)
        (folder / package / "__init__.py").write_text(f'OWNER = "shop {package}"\n')
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "shop"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["app", "analyzers"]\n'
    )
    return folder


def test_the_wheel_installs_one_import_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"faultline", f"faultline_review-{__version__}.dist-info"}
    assert "faultline/app/web/static/setup.html" in names
    assert "faultline/__main__.py" in names


def test_the_cli_requires_no_server_stack(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"faultline_review-{__version__}.dist-info/METADATA").decode()
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    base = {_name(req) for req in requires if "extra ==" not in req}
    app_extra = {_name(req) for req in requires if 'extra == "app"' in req}
    assert base and not base & SERVER_STACK
    assert app_extra >= SERVER_STACK


def test_faultline_works_beside_a_project_with_its_own_app(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).stdout.strip()
    )
    # The dependencies come from the test venv; its own .pth files (the editable finder) are not run.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    shop = build_wheel(user_project(tmp_path / "shop"), tmp_path / "shop-wheel")
    for package in (wheel, shop):
        proc = run(
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--no-deps",
            package,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr

    work = tmp_path / "work"
    work.mkdir()
    (work / "x.py").write_text("try:\n    db.commit()\nexcept Exception:\n    pass\n")
    assert run(env / "bin" / "faultline", "--version", cwd=work).stdout == f"faultline {__version__}\n"
    assert run(python, "-m", "faultline", "--version", cwd=work).stdout == f"faultline {__version__}\n"
    owners = run(python, "-c", "import app, analyzers; print(app.OWNER, '/', analyzers.OWNER)", cwd=work)
    assert owners.stdout == "shop app / shop analyzers\n"
    check = run(env / "bin" / "faultline", "check", "--all", "x.py", cwd=work)
    assert check.returncode == 0 and "FL001" in check.stdout, check.stderr


@pytest.mark.parametrize("missing", ["uvicorn", "githubkit", "huey"])
def test_serve_without_the_app_extra_says_what_to_install(tmp_path: Path, missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from faultline.app.cli.main import main\nsys.exit(main(['serve']))"
    )
    proc = run(sys.executable, "-c", code, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "pip install 'faultline-review[app]'" in proc.stderr


def _name(requirement: str) -> str:
    for stop in "<>=!;[ (":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()
