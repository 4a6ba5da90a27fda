#!/usr/bin/env bash
# Install what the tests need into .venv and run the whole suite:
# ruff, mypy, then pytest. Works on a fresh machine with Python 3.11+, git and apt.
set -euo pipefail
cd "$(dirname "$0")/.."

# The queue tests run a real redis-server (the Debian package), and the completion tests load
# their scripts in zsh and fish: each is installed when missing, and skipped nowhere.
missing=""
for need in redis-server:redis-server zsh:zsh fish:fish; do
  command -v "${need%%:*}" >/dev/null 2>&1 || missing="$missing ${need#*:}"
done
if [ -n "$missing" ]; then
  echo "== installing$missing"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# pytest exits 5 when it collects nothing: that is a failure here too.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
