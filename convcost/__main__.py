"""``python -m convcost`` runs the CLI."""

from convcost.cli import main

main()
