"""The e2e suite drives `tradepipe local` (the shared `local_stack` fixture, tests/conftest.py) over HTTP."""
