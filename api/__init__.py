"""Switchboard for machines: the REST API and the MCP endpoint, both generated from one tool registry."""
