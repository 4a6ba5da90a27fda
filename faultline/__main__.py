"""``python -m faultline``: the same as the ``faultline`` command."""

from faultline.app.cli.main import run

if __name__ == "__main__":
    run()
