"""`python -m bot` runs the `afterglow` command."""

import sys

from bot.cli import main

sys.exit(main())
