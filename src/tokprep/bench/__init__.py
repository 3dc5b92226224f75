"""Measurements behind `tokprep bench`: pure functions that time one thing and return numbers."""
