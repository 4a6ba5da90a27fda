"""Faultline's outside world: the CLI, the renderers and the GitHub App."""
