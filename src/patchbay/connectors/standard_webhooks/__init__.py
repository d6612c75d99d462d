"""Connector for standard webhooks webhooks."""
