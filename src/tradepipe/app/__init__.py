"""Use cases: one per stage. They orchestrate domain decisions and ports; they hold no AWS code."""
