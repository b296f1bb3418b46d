"""Pipelines: end-to-end journeys composed from the engines (quickstart first)."""
