"""One run of the App on one pull request head: read, analyse, publish."""
