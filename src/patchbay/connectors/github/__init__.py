"""Connector for github webhooks."""
