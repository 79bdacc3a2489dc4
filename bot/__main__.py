"""`python -m bot` runs the `afterglow` command."""

import sys

from .cli import main

sys.exit(main())
