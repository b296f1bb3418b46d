"""Shared types, errors and settings: the bottom layer every other module may import."""
