"""Connector for zendesk webhooks."""
