"""``python -m faultline``: the same as the ``faultline`` command."""

import sys

from faultline.app.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
