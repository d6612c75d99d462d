"""Patchbay: a self-hosted AI integration layer.

Webhook in, verified and deduplicated; a durable run that selects, sanitizes, prompts, calls a model
and post-processes; a verified write-back to the system the event came from.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
