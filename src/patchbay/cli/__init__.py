"""The ``patchbay`` command line: ``patchbay <noun> <verb>``, help text from docstrings."""

from __future__ import annotations

from patchbay.cli.main import app, main

__all__ = ["app", "main"]
