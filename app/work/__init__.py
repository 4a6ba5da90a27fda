"""The durable job queue and the workers that run what the receiver accepted."""
