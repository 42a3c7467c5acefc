"""``python -m riskmodel``: the ``riskmodel`` command, for when the console script is not on PATH."""

import sys

from riskmodel.apps.cli import main

sys.exit(main())
