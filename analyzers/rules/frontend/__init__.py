"""Rules of the frontend family."""
