"""Everything that talks to GitHub: the installation client, the GitHub-backed
RepoView and publishing (check run, review, review-thread lifecycle)."""
