"""``python -m patchbay`` runs the CLI."""

from patchbay.cli import main

main()
