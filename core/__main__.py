"""`python -m core …`: the same commands as the `image-search` console script (core.cli)."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
