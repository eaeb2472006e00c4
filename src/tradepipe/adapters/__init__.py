"""Implementations of `tradepipe.ports` for AWS, Alpaca, OpenSearch and in-memory fakes."""
