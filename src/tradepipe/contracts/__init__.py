"""Pydantic models for every boundary: alert, queue messages, table items, index documents."""
