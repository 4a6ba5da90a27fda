"""The command line: `faultline check`, `rules`, `serve`, and the git and disk views it reads through."""
