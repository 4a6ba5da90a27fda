"""Rules about continuous integration: what a workflow's test runs promise."""
