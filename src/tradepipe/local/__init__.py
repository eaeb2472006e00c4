"""The embedded default: local stand-ins for the outside world (broker, AWS, search), one machine."""
