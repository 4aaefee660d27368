"""``python -m jaxnn`` runs the command-line interface, :mod:`jaxnn.cli`."""

from jaxnn.cli import main

raise SystemExit(main())
