"""The web process: webhook receiver, signature check, webhook to work item, and the setup pages."""
