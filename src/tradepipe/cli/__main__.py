"""`python -m tradepipe.cli`: the same command as the `tradepipe` script."""

import sys

from tradepipe.cli import main

sys.exit(main())
