"""``python -m jaxnn`` runs the command-line interface.

The CLI lives in the ``experiments`` package (installed beside ``jaxnn``), because the
library itself never imports the experiments; this entry point is the one exception.
"""

from experiments.cli import main

raise SystemExit(main())
