"""Metrics, logs and (later) traces that come from the runner and the wrappers, not from each component."""
