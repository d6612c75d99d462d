"""Resilience that applies to every provider and target: circuit breakers and shared limits.

``build_runtime`` wraps each configured provider and target as ``Breakered(Limited(component))``
from the ``breaker:`` and ``limits:`` keys of its entry (beside ``type:``). The model step adds the
per-call wrappers (timeout, retry, output guard, fallback chain) from :mod:`patchbay.providers.resilience`.
"""
