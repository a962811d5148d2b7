"""``python -m zipml``: the ``zipml`` command line."""
import sys

from .cli import main

sys.exit(main())
