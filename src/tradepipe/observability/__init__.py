"""Logging concerns shared by the functions (not the domain): secret redaction for Powertools logs."""
