"""The Lua scripts that make each rule one atomic step in Redis, called by EVALSHA (reloaded on NOSCRIPT).

Every script gets the key prefix as ``KEYS[1]`` and builds the names of the keys it reads
(one Redis, not a cluster). Keys, under the prefix: ``meta`` (set once the state is
initialized: without it every script answers ``UNINIT`` and the caller initializes again,
after a FLUSHDB or a Redis restart without persistence), ``orgs`` (org hash → token, as
JSON), ``o:<org>:t`` (trunk id → record), ``o:<org>:n`` (number id → record), ``o:<org>:l``
(number id → trunk id, the links), ``vault`` (trunk id → password), the baseline ``b:...``
(same shapes), ``ctl`` (rate limit), ``faults`` and ``fault:<id>``, ``journal``, ``rl:...``
(rate-limit buckets, expiring). Domain refusals are error replies with a short code.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mockserver.redis_store.connection import RedisConnection, RedisError

__all__ = ["SCRIPTS", "Script"]

_PRELUDE = """
local P = KEYS[1]
if redis.call('EXISTS', P..'meta') == 0 then return redis.error_reply('UNINIT refused') end
local function okey(h, kind) return P..'o:'..h..':'..kind end
local function pinned(h)
  return redis.call('SISMEMBER', P..'keep', h) == 1 or redis.call('HEXISTS', P..'b:orgs', h) == 1
end
local function drop_org(h)
  local t = okey(h, 't')
  local ids = redis.call('HKEYS', t)
  for i = 1, #ids do redis.call('HDEL', P..'vault', ids[i]) end
  redis.call('DEL', t, okey(h, 'n'), okey(h, 'l'))
  redis.call('HDEL', P..'orgs', h)
  redis.call('ZREM', P..'lru', h)
end
local function now_us()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000000 + tonumber(time[2])
end
-- The organization of a request: touched (least recently used first in 'lru'), or created with
-- its demo numbers, evicting the one unused the longest past the cap (seed and kept keys: never).
local function ensure_org(h, token, at)
  local free = not pinned(h)
  if redis.call('HEXISTS', P..'orgs', h) == 1 then
    if free then redis.call('ZADD', P..'lru', now_us(), h) end
    return
  end
  if free then
    local cap = tonumber(redis.call('HGET', P..'meta', 'max_orgs') or '0')
    if cap > 0 and redis.call('ZCARD', P..'lru') >= cap then
      drop_org(redis.call('ZRANGE', P..'lru', 0, 0)[1])
      redis.call('HINCRBY', P..'meta', 'evicted', 1)
    end
    redis.call('ZADD', P..'lru', now_us(), h)
  end
  redis.call('HSET', P..'orgs', h, token)
  local n = tonumber(ARGV[at])
  for i = 1, n do
    redis.call('HSET', okey(h, 'n'), ARGV[at + 2 * i - 1], ARGV[at + 2 * i])
  end
end
"""

_ORG = """
local refused = ensure_org(ARGV[1], ARGV[2], {at})
if refused then return refused end
local h = ARGV[1]
"""

# Wipe the live state (not the baseline); copy a state (live or baseline) from one prefix to another.
_STATE_HELPERS = """
local function wipe_state()
  local orgs = redis.call('HKEYS', P..'orgs')
  for i = 1, #orgs do redis.call('DEL', okey(orgs[i], 't'), okey(orgs[i], 'n'), okey(orgs[i], 'l')) end
  redis.call('DEL', P..'orgs', P..'vault', P..'lru')
end
local function copy_org(h, from, to)
  for _, kind in ipairs({'t', 'n', 'l'}) do
    redis.call('DEL', P..to..'o:'..h..':'..kind)
    redis.call('COPY', P..from..'o:'..h..':'..kind, P..to..'o:'..h..':'..kind)
  end
end
local function wipe_baseline()
  local orgs = redis.call('HKEYS', P..'b:orgs')
  for i = 1, #orgs do
    redis.call('DEL', P..'b:o:'..orgs[i]..':t', P..'b:o:'..orgs[i]..':n', P..'b:o:'..orgs[i]..':l')
  end
  redis.call('DEL', P..'b:orgs', P..'b:vault')
end
local function mark_baseline()
  wipe_baseline()
  local orgs = redis.call('HKEYS', P..'orgs')
  for i = 1, #orgs do copy_org(orgs[i], '', 'b:') end
  redis.call('COPY', P..'orgs', P..'b:orgs')
  redis.call('COPY', P..'vault', P..'b:vault')
  for i = 1, #orgs do redis.call('ZREM', P..'lru', orgs[i]) end
end
local function write_state(payload)
  local state = cjson.decode(payload)
  local tick = now_us()
  for index, org in ipairs(state.orgs) do
    local h = org[1]
    redis.call('HSET', P..'orgs', h, org[2])
    if not pinned(h) then redis.call('ZADD', P..'lru', tick + index, h) end
    for _, spec in ipairs({{org[3], 't'}, {org[4], 'n'}, {org[5], 'l'}}) do
      local flat = spec[1]
      for i = 1, #flat, 2 do redis.call('HSET', okey(h, spec[2]), flat[i], flat[i + 1]) end
    end
  end
  local vault = state.vault
  for i = 1, #vault, 2 do redis.call('HSET', P..'vault', vault[i], vault[i + 1]) end
end
"""

# Faults: one hash per fault, their ids in order in a list.
_FAULT_HELPERS = """
local function put_fault(id, f)
  local key = P..'fault:'..id
  redis.call('DEL', key)
  redis.call('HSET', key, 'method', f.method, 'path', f.path, 'org', f.org, 'decides', f.decides,
    'fraction', f.fraction, 'remaining', f.remaining, 'spec', f.spec, 'hits', 0, 'draws', 0)
  if f.lat_min ~= '' then redis.call('HSET', key, 'lat_min', f.lat_min, 'lat_max', f.lat_max) end
end
local function by_number(a, b) return tonumber(string.sub(a, 2)) < tonumber(string.sub(b, 2)) end
local function restore_faults(org)
  local startup = cjson.decode(redis.call('HGET', P..'meta', 'startup'))
  local ids = redis.call('LRANGE', P..'faults', 0, -1)
  local kept = {}
  for _, id in ipairs(ids) do
    if org ~= '' and redis.call('HGET', P..'fault:'..id, 'org') ~= org then
      kept[#kept + 1] = id
    else
      redis.call('DEL', P..'fault:'..id)
    end
  end
  for i, f in ipairs(startup) do
    if org == '' or f.org == org then
      put_fault('f'..i, f)
      kept[#kept + 1] = 'f'..i
    end
  end
  table.sort(kept, by_number)
  redis.call('DEL', P..'faults')
  if #kept > 0 then redis.call('RPUSH', P..'faults', unpack(kept)) end
  if org == '' then redis.call('SET', P..'faults:next', #startup) end
end
local function restore_rate()
  local m = redis.call('HMGET', P..'meta', 'rate_requests', 'rate_seconds')
  if m[1] then
    redis.call('HSET', P..'ctl', 'requests', m[1], 'seconds', m[2])
  else
    redis.call('HDEL', P..'ctl', 'requests', 'seconds')
  end
  redis.call('HINCRBY', P..'ctl', 'gen', 1)
end
"""

_LIST_TRUNKS = _PRELUDE + _ORG.format(at=3) + "return redis.call('HGETALL', okey(h, 't'))"

_CREATE_TRUNK = (
    _PRELUDE
    + _ORG.format(at=7)
    + """
local t = okey(h, 't')
if redis.call('HEXISTS', t, ARGV[4]) == 1 then return 0 end
if redis.call('HLEN', t) >= tonumber(ARGV[3]) then return redis.error_reply('LIMIT refused') end
redis.call('HSET', t, ARGV[4], ARGV[5])
redis.call('HSET', P..'vault', ARGV[4], ARGV[6])
return 1
"""
)

_GET_TRUNK = (
    _PRELUDE
    + _ORG.format(at=4)
    + """
local record = redis.call('HGET', okey(h, 't'), ARGV[3])
if not record then return redis.error_reply('NO_TRUNK refused') end
return record
"""
)

_DELETE_TRUNK = (
    _PRELUDE
    + _ORG.format(at=4)
    + """
local id = ARGV[3]
if redis.call('HDEL', okey(h, 't'), id) == 0 then return redis.error_reply('NO_TRUNK refused') end
redis.call('HDEL', P..'vault', id)
local l = okey(h, 'l')
local links = redis.call('HGETALL', l)
for i = 1, #links, 2 do
  if links[i + 1] == id then redis.call('HDEL', l, links[i]) end
end
return 1
"""
)

_LIST_NUMBERS = (
    _PRELUDE
    + _ORG.format(at=3)
    + "return {redis.call('HGETALL', okey(h, 'n')), redis.call('HGETALL', okey(h, 'l'))}"
)

_GET_NUMBER = (
    _PRELUDE
    + _ORG.format(at=4)
    + """
local record = redis.call('HGET', okey(h, 'n'), ARGV[3])
if not record then return redis.error_reply('NO_NUMBER refused') end
return {record, redis.call('HGET', okey(h, 'l'), ARGV[3]) or ''}
"""
)

_UPDATE_NUMBER = (
    _PRELUDE
    + _ORG.format(at=5)
    + """
local record = redis.call('HGET', okey(h, 'n'), ARGV[3])
if not record then return redis.error_reply('NO_NUMBER refused') end
local trunk = ARGV[4]
if trunk == '' then
  redis.call('HDEL', okey(h, 'l'), ARGV[3])
else
  if redis.call('HEXISTS', okey(h, 't'), trunk) == 0 then
    return redis.error_reply('UNKNOWN_TRUNK refused')
  end
  redis.call('HSET', okey(h, 'l'), ARGV[3], trunk)
end
return record
"""
)

_VERIFY = (
    _PRELUDE
    + """
local secret = redis.call('HGET', P..'vault', ARGV[1])
if secret and secret == ARGV[2] then return 1 end
return 0
"""
)

_STATS = (
    _PRELUDE
    + """
local orgs = redis.call('HKEYS', P..'orgs')
local trunks, numbers = 0, 0
for i = 1, #orgs do
  trunks = trunks + redis.call('HLEN', okey(orgs[i], 't'))
  numbers = numbers + redis.call('HLEN', okey(orgs[i], 'n'))
end
return {#orgs, trunks, numbers}
"""
)

_EXPORT = (
    _PRELUDE
    + """
local orgs = redis.call('HGETALL', P..'orgs')
local out = {}
for i = 1, #orgs, 2 do
  local h = orgs[i]
  out[#out + 1] = {orgs[i + 1], redis.call('HGETALL', okey(h, 't')), redis.call('HGETALL', okey(h, 'n')),
    redis.call('HGETALL', okey(h, 'l'))}
end
return out
"""
)

_REPLACE_STATE = (
    _PRELUDE
    + _STATE_HELPERS
    + """
wipe_state()
write_state(ARGV[1])
return 1
"""
)

_MARK_BASELINE = _PRELUDE + _STATE_HELPERS + "mark_baseline() return 1"

_RESET = (
    _PRELUDE
    + _STATE_HELPERS
    + """
local h = ARGV[1]
if h == '' then
  wipe_state()
  local orgs = redis.call('HKEYS', P..'b:orgs')
  for i = 1, #orgs do copy_org(orgs[i], 'b:', '') end
  redis.call('COPY', P..'b:orgs', P..'orgs')
  redis.call('COPY', P..'b:vault', P..'vault')
  return 1
end
drop_org(h)
local token = redis.call('HGET', P..'b:orgs', h)
if token then
  redis.call('HSET', P..'orgs', h, token)
  copy_org(h, 'b:', '')
  local ids = redis.call('HKEYS', okey(h, 't'))
  for i = 1, #ids do
    local secret = redis.call('HGET', P..'b:vault', ids[i])
    if secret then redis.call('HSET', P..'vault', ids[i], secret) end
  end
end
return 1
"""
)

# The first replica to start writes the seed, the baseline and the controls; later ones join.
_INIT = (
    """
local P = KEYS[1]
local existing = redis.call('HGET', P..'meta', 'fingerprint')
if existing then return existing end
local function okey(h, kind) return P..'o:'..h..':'..kind end
local function pinned(h)
  return redis.call('SISMEMBER', P..'keep', h) == 1 or redis.call('HEXISTS', P..'b:orgs', h) == 1
end
local function now_us()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000000 + tonumber(time[2])
end
"""
    + _STATE_HELPERS
    + _FAULT_HELPERS
    + """
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', P..'*', 'COUNT', 1000)
  cursor = page[1]
  if #page[2] > 0 then redis.call('DEL', unpack(page[2])) end
until cursor == '0'
redis.call('HSET', P..'meta', 'fingerprint', ARGV[1], 'startup', ARGV[3], 'max_orgs', ARGV[6])
for i = 7, #ARGV do redis.call('SADD', P..'keep', ARGV[i]) end
if ARGV[4] ~= '' then redis.call('HSET', P..'meta', 'rate_requests', ARGV[4], 'rate_seconds', ARGV[5]) end
write_state(ARGV[2])
mark_baseline()
restore_faults('')
restore_rate()
return ''
"""
)

# --- controls --------------------------------------------------------------------------------

# The controls' decision for one request (rate limit, then faults), as a function other scripts embed:
# {flag ('' no limit, '1' allowed, '0' refused), tokens left, requests, seconds, deciding fault id,
#  its spec, delay in ms, the ids of the faults fired...}.
_GATE_FUNCTION = """
local function gate(method, template, org, seed)
  local out = {'', '', '', '', '', '', '0'}
  local rate = redis.call('HMGET', P..'ctl', 'requests', 'seconds', 'gen')
  if rate[1] then
    local cap = tonumber(rate[1])
    local per_second = cap / tonumber(rate[2])
    local time = redis.call('TIME')
    local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
    local key = P..'rl:'..(rate[3] or '0')..':'..(org == '' and '-' or org)
    local bucket = redis.call('HMGET', key, 'tokens', 'at')
    local tokens = cap
    if bucket[1] then
      tokens = math.min(cap, tonumber(bucket[1]) + (now - tonumber(bucket[2])) * per_second)
    end
    local allowed = tokens >= 1
    if allowed then tokens = tokens - 1 end
    redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'at', string.format('%.6f', now))
    redis.call('PEXPIRE', key, math.ceil(cap / per_second * 1000) + 1000)
    out[1], out[2], out[3], out[4] = allowed and '1' or '0', string.format('%.6f', tokens), rate[1], rate[2]
    if not allowed then return out end
  end
  if template == '' then return out end
  local function draw(id, n, tag)
    return tonumber(string.sub(redis.sha1hex(seed..'/'..id..'/'..n..tag), 1, 13), 16) / 4503599627370496
  end
  local delay = 0
  local decided = false
  local ids = redis.call('LRANGE', P..'faults', 0, -1)
  for _, id in ipairs(ids) do
    local key = P..'fault:'..id
    local f = redis.call('HMGET', key, 'method', 'path', 'org', 'decides', 'fraction', 'remaining',
      'lat_min', 'lat_max')
    if (f[1] == '*' or f[1] == method) and (f[2] == '*' or f[2] == template) and (f[3] == '' or f[3] == org)
      and not (decided and f[4] == '1') and f[6] ~= '0' then
      local fires = true
      if tonumber(f[5]) < 1 then
        fires = draw(id, redis.call('HINCRBY', key, 'draws', 1), 'f') < tonumber(f[5])
      end
      if fires then
        local hits = redis.call('HINCRBY', key, 'hits', 1)
        if f[6] ~= '-1' then redis.call('HINCRBY', key, 'remaining', -1) end
        out[#out + 1] = id
        if f[7] then
          local low, high = tonumber(f[7]), tonumber(f[8])
          if high > low then low = low + (high - low) * draw(id, hits, 'l') end
          delay = delay + low
        end
        if f[4] == '1' then
          decided = true
          out[5] = id
          out[6] = redis.call('HGET', key, 'spec')
        end
      end
    end
  end
  out[7] = string.format('%.3f', delay)
  return out
end
"""

_GATE = _PRELUDE + _GATE_FUNCTION + "return gate(ARGV[1], ARGV[2], ARGV[3], ARGV[4])"

_FAULT_ADD = (
    _PRELUDE
    + _FAULT_HELPERS
    + """
if redis.call('LLEN', P..'faults') >= tonumber(ARGV[2]) then return redis.error_reply('FULL refused') end
local id = 'f'..redis.call('INCR', P..'faults:next')
put_fault(id, cjson.decode(ARGV[1]))
redis.call('RPUSH', P..'faults', id)
return id
"""
)

_FAULT_LIST = (
    _PRELUDE
    + """
local out = {}
for _, id in ipairs(redis.call('LRANGE', P..'faults', 0, -1)) do
  local f = redis.call('HMGET', P..'fault:'..id, 'spec', 'org', 'hits', 'remaining')
  out[#out + 1] = {id, f[1], f[2], f[3], f[4]}
end
return out
"""
)

_FAULT_REMOVE = (
    _PRELUDE
    + """
if redis.call('LREM', P..'faults', 0, ARGV[1]) == 0 then return redis.error_reply('NO_FAULT refused') end
redis.call('DEL', P..'fault:'..ARGV[1])
return 1
"""
)

_FAULT_CLEAR = (
    _PRELUDE
    + """
for _, id in ipairs(redis.call('LRANGE', P..'faults', 0, -1)) do
  if ARGV[1] == '' or redis.call('HGET', P..'fault:'..id, 'org') == ARGV[1] then
    redis.call('LREM', P..'faults', 0, id)
    redis.call('DEL', P..'fault:'..id)
  end
end
return 1
"""
)

_RATE_SET = (
    _PRELUDE
    + """
if ARGV[1] == '' then
  redis.call('HDEL', P..'ctl', 'requests', 'seconds')
else
  redis.call('HSET', P..'ctl', 'requests', ARGV[1], 'seconds', ARGV[2])
end
redis.call('HINCRBY', P..'ctl', 'gen', 1)
return 1
"""
)

_RATE_GET = _PRELUDE + "return redis.call('HMGET', P..'ctl', 'requests', 'seconds')"

_JOURNAL_CLEAR_HELPER = """
local function clear_journal(org)
  if org == '' then redis.call('DEL', P..'journal') return end
  local kept = {}
  for _, entry in ipairs(redis.call('LRANGE', P..'journal', 0, -1)) do
    if cjson.decode(entry)[7] ~= org then kept[#kept + 1] = entry end
  end
  redis.call('DEL', P..'journal')
  for i = 1, #kept, 1000 do
    redis.call('RPUSH', P..'journal', unpack(kept, i, math.min(i + 999, #kept)))
  end
end
"""

_CONTROLS_RESET = (
    _PRELUDE
    + _FAULT_HELPERS
    + _JOURNAL_CLEAR_HELPER
    + """
local org = ARGV[1]
restore_faults(org)
if org == '' then
  restore_rate()
else
  local gen = redis.call('HGET', P..'ctl', 'gen') or '0'
  redis.call('DEL', P..'rl:'..gen..':'..org)
end
clear_journal(org)
return 1
"""
)

_JOURNAL_APPEND = (
    _PRELUDE
    + """
local size = tonumber(ARGV[1])
for i = 2, #ARGV do
  local id = redis.call('INCR', P..'journal:next')
  redis.call('RPUSH', P..'journal', '['..id..','..string.sub(ARGV[i], 2))
end
redis.call('LTRIM', P..'journal', -size, -1)
return 1
"""
)

_JOURNAL_READ = _PRELUDE + "return redis.call('LRANGE', P..'journal', 0, -1)"

_JOURNAL_CLEAR = _PRELUDE + _JOURNAL_CLEAR_HELPER + "clear_journal(ARGV[1]) return 1"


_GATED = """
local g = gate(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
for _ = 1, 4 do table.remove(ARGV, 1) end
if g[1] == '0' or g[5] ~= '' or tonumber(g[7]) > 0 then return {'G', '', unpack(g)} end
local function op()
%s
end
local result = op()
if type(result) == 'table' and result.err then return {'E', result.err, unpack(g)} end
return {'OK', result, unpack(g)}
"""


def _gated(script: str) -> str:
    """A store script preceded by the controls' gate, in one script: one round trip for both.

    ``ARGV`` starts with the gate's four arguments. When the gate refuses the request, a fault
    decides its answer or delays it, the operation is not run (``{'G', '', gate...}``: the
    caller sleeps and runs the plain script for a delay); else ``{'OK', result, gate...}`` or
    ``{'E', error, gate...}``.
    """
    assert script.startswith(_PRELUDE)
    return _PRELUDE + _GATE_FUNCTION + _GATED % script[len(_PRELUDE) :]


class Script:
    """One Lua script, called by its SHA1 and loaded again when Redis does not know it (NOSCRIPT)."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"<Script {self.name} {self.sha[:8]}>"

    async def __call__(self, connection: RedisConnection, prefix: str, *args: Any) -> Any:
        """Run the script with ``KEYS[1] = prefix`` and ``args`` as ``ARGV``."""
        try:
            return await connection.execute("EVALSHA", self.sha, 1, prefix, *args)
        except RedisError as exc:
            if exc.code != "NOSCRIPT":
                raise
        await connection.execute("SCRIPT", "LOAD", self.source)
        return await connection.execute("EVALSHA", self.sha, 1, prefix, *args)


_STORE_OPERATIONS = {
    "list_trunks": _LIST_TRUNKS,
    "create_trunk": _CREATE_TRUNK,
    "get_trunk": _GET_TRUNK,
    "delete_trunk": _DELETE_TRUNK,
    "list_numbers": _LIST_NUMBERS,
    "get_number": _GET_NUMBER,
    "update_number": _UPDATE_NUMBER,
}

SCRIPTS = {
    name: Script(name, source)
    for name, source in {
        **{f"gated_{name}": _gated(source) for name, source in _STORE_OPERATIONS.items()},
        "list_trunks": _LIST_TRUNKS,
        "create_trunk": _CREATE_TRUNK,
        "get_trunk": _GET_TRUNK,
        "delete_trunk": _DELETE_TRUNK,
        "list_numbers": _LIST_NUMBERS,
        "get_number": _GET_NUMBER,
        "update_number": _UPDATE_NUMBER,
        "verify": _VERIFY,
        "stats": _STATS,
        "export": _EXPORT,
        "replace_state": _REPLACE_STATE,
        "mark_baseline": _MARK_BASELINE,
        "reset": _RESET,
        "init": _INIT,
        "gate": _GATE,
        "fault_add": _FAULT_ADD,
        "fault_list": _FAULT_LIST,
        "fault_remove": _FAULT_REMOVE,
        "fault_clear": _FAULT_CLEAR,
        "rate_set": _RATE_SET,
        "rate_get": _RATE_GET,
        "controls_reset": _CONTROLS_RESET,
        "journal_append": _JOURNAL_APPEND,
        "journal_read": _JOURNAL_READ,
        "journal_clear": _JOURNAL_CLEAR,
    }.items()
}
