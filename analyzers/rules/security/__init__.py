"""Rules of the security family."""
