"""One construct per concern. The package name mirrors the style guide; `infra/app.py` keeps `infra/` off
`sys.path` so this package never shadows the `constructs` library."""
