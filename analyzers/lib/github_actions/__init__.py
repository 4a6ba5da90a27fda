"""GitHub Actions workflows: jobs and steps with their lines, and the shell commands they run."""
