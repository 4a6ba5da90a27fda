"""The engine and what it is made of: the rule contract, findings and fingerprints, changes,
the RepoView protocol, config, suppressions and the rule registry."""
