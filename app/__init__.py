"""Faultline's outside world: the CLI, the renderers and the GitHub App."""

__version__ = "0.1.0"
