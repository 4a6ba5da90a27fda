"""The error that tells the queue to run a job again later (also importable from ``client``)."""

from __future__ import annotations


class TransientGitHubError(Exception):
    """GitHub asked to come back later (rate limit, lasting 5xx, network error):
    the job should run again after ``retry_after`` seconds.

    ``rate_limit`` is True when GitHub refused the request for a rate limit, so it
    certainly did nothing; otherwise (a 5xx, a timeout, a dropped connection) a request
    that creates something may have been carried out before the answer was lost."""

    def __init__(self, message: str, retry_after: float, *, rate_limit: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limit = rate_limit
