"""``python -m nasjax.cli``: the ``nasjax`` command."""

import sys

from nasjax.cli import main

sys.exit(main())
