"""Connector for http webhooks."""
