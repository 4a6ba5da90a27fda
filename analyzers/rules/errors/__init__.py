"""Rules about error handling: handlers that change what a failure means."""
