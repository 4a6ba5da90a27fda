"""The run ledger in Redis, beside huey's queue keys (scale-out mode).

Each step is one Lua script, so it is atomic and one round trip: admitting a run records it
and pushes its queue message together, as the SQLite ledger does in one transaction. A pull
request's lease is a key set with NX and an expiry, renewed by its worker's heartbeat.
Times are the workers' clocks (epoch seconds); keep them in sync (NTP) across machines.
The scripts touch keys they derive from the ledger's prefix: a single Redis, not a cluster.

Redis must keep what it is told across a restart for the ledger to be the truth: run it with
``appendonly yes`` (docs/deploy.md).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from huey.storage import RedisStorage
from redis import ConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from faultline.app.work.ledger import (
    DONE,
    LEASED,
    MEMORY,
    QUEUED,
    Claim,
    Newest,
    RunRecord,
    pull_key,
    request_from_json,
    request_to_json,
)
from faultline.app.work.request import AnalysisRequest

# A Redis that restarts is waited for, this many tries with backoff (about a minute).
RECONNECT_TRIES = 30
MEMORY_MS = int(MEMORY.total_seconds() * 1000)

_ADMIT = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], 'trigger', ARGV[2], 'repository', ARGV[3], 'pull_number', ARGV[4],
  'head_sha', ARGV[5], 'pull_key', ARGV[6], 'received', ARGV[7], 'state', 'queued', 'due', ARGV[7],
  'starts', 0, 'errors', 0, 'payload', ARGV[8])
redis.call('pexpire', KEYS[1], ARGV[10])
redis.call('zremrangebyscore', KEYS[2], '-inf', tonumber(ARGV[7]) - tonumber(ARGV[10]) / 1000)
redis.call('zadd', KEYS[2], ARGV[7], ARGV[1])
redis.call('zadd', KEYS[3], ARGV[7], ARGV[1])
if ARGV[6] ~= '' then redis.call('set', KEYS[4], ARGV[1], 'PX', ARGV[10]) end
redis.call('lpush', KEYS[5], ARGV[9])
return 1
"""

_CLAIM = """
local state = redis.call('hget', KEYS[1], 'state')
if not state then return false end
local now = tonumber(ARGV[4])
local ok = (state == 'queued' and tonumber(redis.call('hget', KEYS[1], 'due')) <= now)
  or (state == 'leased' and tonumber(redis.call('hget', KEYS[1], 'lease_until')) < now)
if not ok then return false end
redis.call('hset', KEYS[1], 'state', 'leased', 'lease_owner', ARGV[2], 'lease_until', ARGV[3])
redis.call('hincrby', KEYS[1], 'starts', 1)
redis.call('hsetnx', KEYS[1], 'first_started', ARGV[4])
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[1])
redis.call('sadd', KEYS[4], ARGV[1])
return redis.call('hgetall', KEYS[1])
"""

_RENEW = """
local live, held = {}, {}
local runs = tonumber(ARGV[5])
for i = 6, 5 + runs do live[ARGV[i]] = true end
for i = 6 + runs, #ARGV do held[ARGV[i]] = true end
for _, id in ipairs(redis.call('smembers', KEYS[1])) do
  local key = ARGV[3] .. 'run:' .. id
  if redis.call('hget', key, 'lease_owner') == ARGV[1] and redis.call('hget', key, 'state') == 'leased' then
    if live[id] then
      redis.call('hset', key, 'lease_until', ARGV[2])
      redis.call('zadd', KEYS[2], ARGV[2], id)
    end
  else
    redis.call('srem', KEYS[1], id)
  end
end
for _, pull in ipairs(redis.call('smembers', KEYS[3])) do
  local key = ARGV[3] .. 'pull:' .. pull
  local holder = redis.call('get', key)
  if holder and string.sub(holder, 1, #ARGV[1] + 1) == ARGV[1] .. '/' then
    if held[holder] then redis.call('pexpire', key, ARGV[4]) end
  else
    redis.call('srem', KEYS[3], pull)
  end
end
return 1
"""

_REQUEUE = """
if redis.call('hget', KEYS[1], 'lease_owner') ~= ARGV[2] then return 0 end
if redis.call('hget', KEYS[1], 'state') ~= 'leased' then return 0 end
redis.call('hset', KEYS[1], 'state', 'queued', 'due', ARGV[3])
redis.call('hdel', KEYS[1], 'lease_owner', 'lease_until')
redis.call('hincrby', KEYS[1], 'errors', ARGV[4])
if ARGV[5] ~= '' then redis.call('hset', KEYS[1], 'detail', ARGV[5]) end
redis.call('zrem', KEYS[3], ARGV[1])
redis.call('zadd', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

_FINISH = """
if redis.call('hget', KEYS[1], 'lease_owner') ~= ARGV[2] then return 0 end
redis.call('hset', KEYS[1], 'state', 'done', 'finished', ARGV[3], 'conclusion', ARGV[4], 'detail', ARGV[5])
if ARGV[6] ~= '' then redis.call('hset', KEYS[1], 'head_sha', ARGV[6]) end
redis.call('hdel', KEYS[1], 'lease_owner', 'lease_until')
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('zrem', KEYS[3], ARGV[1])
return 1
"""

_DROP_PULL = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
return 1
"""

_OWED = """
local now, out = tonumber(ARGV[1]), {}
for _, id in ipairs(redis.call('zrangebyscore', KEYS[2], '-inf', '(' .. ARGV[1])) do
  local key = ARGV[3] .. 'run:' .. id
  local expiry = tonumber(redis.call('hget', key, 'lease_until') or '0')
  if redis.call('hget', key, 'state') == 'leased' and expiry < now then
    redis.call('hset', key, 'state', 'queued', 'due', ARGV[1])
    redis.call('hdel', key, 'lease_owner', 'lease_until')
    redis.call('zadd', KEYS[1], ARGV[1], id)
    table.insert(out, id)
  end
  redis.call('zrem', KEYS[2], id)
end
for _, id in ipairs(redis.call('zrangebyscore', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))) do
  local key = ARGV[3] .. 'run:' .. id
  if redis.call('hget', key, 'state') == 'queued' then
    redis.call('hset', key, 'due', ARGV[1])
    redis.call('zadd', KEYS[1], ARGV[1], id)
    table.insert(out, id)
  else
    redis.call('zrem', KEYS[1], id)
  end
end
return out
"""

_FIELDS = (
    "trigger",
    "repository",
    "pull_number",
    "head_sha",
    "received",
    "state",
    "due",
    "starts",
    "errors",
    "first_started",
    "finished",
    "conclusion",
    "detail",
)


def connection_pool(url: str) -> ConnectionPool:
    """Connections that wait out a Redis restart instead of failing the first call."""
    return ConnectionPool.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), RECONNECT_TRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=5,
        socket_connect_timeout=2,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _number(value: Any) -> float | None:
    text = _text(value)
    return float(text) if text not in (None, "") else None


def _record(run_id: str, values: dict[str, Any]) -> RunRecord:
    text = {name: _text(values.get(name)) for name in _FIELDS}
    pull = text["pull_number"]
    return RunRecord(
        run_id=run_id,
        trigger=text["trigger"] or "",
        repository=text["repository"] or "",
        pull_number=int(pull) if pull else None,
        head_sha=text["head_sha"] or None,
        received=_number(values.get("received")) or 0.0,
        state=text["state"] or QUEUED,
        due=_number(values.get("due")) or 0.0,
        starts=int(_number(values.get("starts")) or 0),
        errors=int(_number(values.get("errors")) or 0),
        first_started=_number(values.get("first_started")),
        finished=_number(values.get("finished")),
        conclusion=text["conclusion"] or None,
        detail=text["detail"] or None,
    )


class RedisLedger(RedisStorage):  # type: ignore[misc]
    """huey's Redis storage plus the ledger's keys under ``faultline.<name>.``."""

    def __init__(self, name: str = "huey", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.prefix = f"faultline.{self.name}."
        self.runs_key = self.prefix + "runs"
        self.queued_key = self.prefix + "queued"
        self.leased_key = self.prefix + "leased"
        register = self.conn.register_script
        self._admit = register(_ADMIT)
        self._claim = register(_CLAIM)
        self._renew = register(_RENEW)
        self._requeue = register(_REQUEUE)
        self._finish = register(_FINISH)
        self._drop_pull = register(_DROP_PULL)
        self._owed = register(_OWED)

    def _run(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    def admit(self, request: AnalysisRequest, message: bytes) -> bool:
        keys, args = self.admit_call(request, message)
        return bool(self._admit(keys=keys, args=args))

    def admit_many(self, items: list[tuple[AnalysisRequest, bytes]]) -> list[bool]:
        """``admit`` each, in one round trip (a pipeline of scripts, each atomic)."""
        pipe = self.conn.pipeline(transaction=False)
        for request, message in items:
            keys, args = self.admit_call(request, message)
            self._admit(keys=keys, args=args, client=pipe)
        return [bool(admitted) for admitted in pipe.execute()]

    def admit_call(self, request: AnalysisRequest, message: bytes) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the admit script."""
        key = pull_key(request)
        keys = [
            self._run(request.delivery_id),
            self.runs_key,
            self.queued_key,
            f"{self.prefix}newest:{key or ''}",
            self.queue_key,
        ]
        args = [
            request.delivery_id,
            request.trigger,
            f"{request.owner}/{request.repo}",
            "" if request.pull_number is None else str(request.pull_number),
            request.head_sha or "",
            key or "",
            repr(time.time()),
            request_to_json(request),
            message,
            MEMORY_MS,
        ]
        return keys, args

    def claim(self, run_id: str, owner: str, lease_until: float, now: float) -> Claim | None:
        keys = [self._run(run_id), self.queued_key, self.leased_key, f"{self.prefix}owner:{owner}"]
        flat = self._claim(keys=keys, args=[run_id, owner, repr(lease_until), repr(now)])
        if not flat:
            return None
        values = {_text(flat[i]) or "": flat[i + 1] for i in range(0, len(flat), 2)}
        payload = _text(values.get("payload")) or "{}"
        return Claim(request_from_json(payload), _record(run_id, values))

    def renew(self, owner: str, lease_until: float, runs: Collection[str], holders: Collection[str]) -> None:
        ttl_ms = max(1, int((lease_until - time.time()) * 1000))
        keys = [f"{self.prefix}owner:{owner}", self.leased_key, f"{self.prefix}pulls:{owner}"]
        args = [owner, repr(lease_until), self.prefix, ttl_ms, len(runs), *runs, *holders]
        self._renew(keys=keys, args=args)

    def requeue(self, run_id: str, owner: str, due: float, *, error: str | None) -> None:
        keys = [self._run(run_id), self.queued_key, self.leased_key]
        args = [run_id, owner, repr(due), 0 if error is None else 1, error or ""]
        self._requeue(keys=keys, args=args)

    def finish(self, run_id: str, owner: str, conclusion: str, detail: str | None, head: str | None) -> None:
        keys = [self._run(run_id), self.queued_key, self.leased_key]
        args = [run_id, owner, repr(time.time()), conclusion, detail or "", head or ""]
        self._finish(keys=keys, args=args)

    def take_pull(self, key: str, owner: str, holder: str, lease_until: float, now: float) -> bool:
        ttl_ms = max(1, int((lease_until - now) * 1000))
        pipe = self.conn.pipeline()
        pipe.set(f"{self.prefix}pull:{key}", holder, nx=True, px=ttl_ms)
        pipe.sadd(f"{self.prefix}pulls:{owner}", key)
        taken, _added = pipe.execute()
        return bool(taken)

    def drop_pull(self, key: str, holder: str) -> None:
        self._drop_pull(keys=[f"{self.prefix}pull:{key}"], args=[holder])

    def newest(self, key: str) -> Newest | None:
        run_id = _text(self.conn.get(f"{self.prefix}newest:{key}"))
        if run_id is None:
            return None
        head, received = self.conn.hmget(self._run(run_id), ["head_sha", "received"])
        return Newest(run_id, _text(head) or None, _number(received) or 0.0)

    def owed(self, now: float, grace: float, *, everything: bool = False) -> list[tuple[str, float]]:
        # ``everything`` does not apply: other workers may hold leases in a shared Redis.
        ids = self._owed(keys=[self.queued_key, self.leased_key], args=[repr(now), repr(grace), self.prefix])
        return [(_text(run_id) or "", now) for run_id in ids]

    def recent(self, limit: int) -> list[RunRecord]:
        ids = [_text(run_id) or "" for run_id in self.conn.zrevrange(self.runs_key, 0, limit - 1)]
        pipe = self.conn.pipeline()
        for run_id in ids:
            pipe.hmget(self._run(run_id), list(_FIELDS))
        rows = pipe.execute()
        return [
            _record(run_id, dict(zip(_FIELDS, row, strict=True)))
            for run_id, row in zip(ids, rows, strict=True)
            if row[0] is not None
        ]

    def request(self, run_id: str) -> AnalysisRequest | None:
        payload = _text(self.conn.hget(self._run(run_id), "payload"))
        return request_from_json(payload) if payload else None

    def counts(self) -> dict[str, int]:
        pipe = self.conn.pipeline()
        pipe.zcard(self.queued_key)
        pipe.zcard(self.leased_key)
        pipe.zcard(self.runs_key)
        queued, leased, total = pipe.execute()
        return {QUEUED: int(queued), LEASED: int(leased), DONE: max(0, int(total) - queued - leased)}
