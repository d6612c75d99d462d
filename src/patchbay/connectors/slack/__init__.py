"""Connector for slack webhooks."""
