"""``python -m tokkit`` runs the CLI."""

from tokkit.cli import main

raise SystemExit(main())
