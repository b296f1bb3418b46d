"""Reusable test fixtures: the loopback OpenAI-compatible server, tiny local models."""
