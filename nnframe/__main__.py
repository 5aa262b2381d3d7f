"""``python -m nnframe``: the same as the ``nnframe`` command."""

import sys

from nnframe.cli import main

sys.exit(main())
