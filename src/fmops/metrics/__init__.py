"""Metric functions of the evaluation engine: pure functions matching fmeval 1.2.3 score for score."""
