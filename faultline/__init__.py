"""Faultline: reviews pull requests for the reliability risks a senior reviewer catches and a
linter misses.

One import package holds everything Faultline installs, so that nothing collides with a
project's own ``app`` or ``analyzers``. In the repository the subpackages are the top-level
folders ``analyzers/`` (the pure engine and its rules) and ``app/`` (the CLI, the GitHub App,
the renderers); ``faultline/analyzers`` and ``faultline/app`` are links to them.
"""

__version__ = "0.2.0"
