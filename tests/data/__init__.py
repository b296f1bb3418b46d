"""Tests for fmops.data."""
