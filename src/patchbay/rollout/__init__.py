"""Rollout: per-integration flags (off, shadow, percent, on), a kill switch, each run's decision."""
