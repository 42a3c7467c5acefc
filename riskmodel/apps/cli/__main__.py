"""``python -m riskmodel.apps.cli``: the ``riskmodel`` command."""

import sys

from riskmodel.apps.cli import main

sys.exit(main())
