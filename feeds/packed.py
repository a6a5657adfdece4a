"""Timelines as packed strings: 8 bytes per entry, at about 9 bytes of Redis memory per entry.

A timeline is one Redis string of big-endian 64-bit tweet ids, oldest first, so that the usual
insert, a tweet newer than everything in it, is an APPEND of 8 bytes. When older entries exist
beyond what is kept, eight zero bytes come first (no tweet has id 0). Once full, a window holds
between `cap` and `cap + cap/8` entries: it is cut back to `cap` only when the slack is used up,
so the copy that trimming costs is paid once per cap/8 inserts.

A sorted set would cost about 100 bytes per entry; this costs a little over 8, at the price of
the insert and remove logic living in two small Lua scripts. Ids are compared in Lua as two
32-bit halves: Lua numbers are doubles, and byte-string comparison follows the collation locale.
"""

import struct
from dataclasses import dataclass

TRUNCATED_MARK = bytes(8)

_HELPERS = """
local ZERO = string.rep('\\0', 8)
local function newer(ah, al, bh, bl)
  return ah > bh or (ah == bh and al > bl)
end
"""

# KEYS: timelines. ARGV: the 8-byte id, the cap, a channel prefix ('' for none) and a message.
# Adds the id to every timeline that exists (an absent one belongs to an inactive user), in order,
# once; publishes the message on prefix..<the key's trailing user id> for each that took it;
# returns the 0-based positions in KEYS of those.
INSERT_SCRIPT = (
    _HELPERS
    + """
local id, cap, channel, message = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local slack = math.floor(cap / 8)
local ih, il = struct.unpack('>I4I4', id)
local taken = {}
for k, key in ipairs(KEYS) do
  local last = redis.call('GETRANGE', key, -8, -1)
  local len, inserted = 0, false
  if last == '' then
    -- An empty window takes it; an absent one (an inactive reader) does not.
    if redis.call('EXISTS', key) == 1 then
      len = redis.call('APPEND', key, id)
      inserted = true
    end
  else
    local lh, ll = struct.unpack('>I4I4', last)
    if newer(ih, il, lh, ll) and last ~= ZERO then
      len = redis.call('APPEND', key, id)
      inserted = true
    elseif not (ih == lh and il == ll) then
      local s = redis.call('GET', key)
      len = #s
      local truncated = string.sub(s, 1, 8) == ZERO
      local base = truncated and 8 or 0
      local n = (len - base) / 8
      local lo, hi = 0, n
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local h, l = struct.unpack('>I4I4', s, base + mid * 8 + 1)
        if newer(ih, il, h, l) then lo = mid + 1 else hi = mid end
      end
      local present = false
      if lo < n then
        local h, l = struct.unpack('>I4I4', s, base + lo * 8 + 1)
        present = h == ih and l == il
      end
      if not present and not (truncated and lo == 0) then
        s = string.sub(s, 1, base + lo * 8) .. id .. string.sub(s, base + lo * 8 + 1)
        redis.call('SET', key, s, 'KEEPTTL')
        len = len + 8
        inserted = true
      end
    end
  end
  if inserted then
    if len / 8 > cap + slack then
      local s = redis.call('GET', key)
      local entries = len / 8 - ((string.sub(s, 1, 8) == ZERO) and 1 or 0)
      if entries > cap + slack then
        redis.call('SET', key, ZERO .. string.sub(s, len - cap * 8 + 1), 'KEEPTTL')
      end
    end
    if channel ~= '' then
      redis.call('PUBLISH', channel .. string.match(key, '(%d+)$'), message)
    end
    taken[#taken + 1] = k - 1
  end
end
return taken
"""
)

# KEYS: timelines; ARGV: 8-byte ids. Removes those ids from every timeline; returns how many went.
REMOVE_SCRIPT = (
    _HELPERS
    + """
local gone = {}
for _, id in ipairs(ARGV) do gone[id] = true end
local removed = 0
for _, key in ipairs(KEYS) do
  local s = redis.call('GET', key)
  if s then
    local kept, count = {}, 0
    for i = 0, #s / 8 - 1 do
      local e = string.sub(s, i * 8 + 1, i * 8 + 8)
      if gone[e] and e ~= ZERO then count = count + 1 else kept[#kept + 1] = e end
    end
    if count > 0 then
      redis.call('SET', key, table.concat(kept), 'KEEPTTL')
      removed = removed + count
    end
  end
end
return removed
"""
)


@dataclass(frozen=True)
class Window:
    """The newest entries of a timeline, newest first, and whether older ones exist beyond them."""

    ids: tuple[int, ...]
    truncated: bool


def pack_id(entry_id: int) -> bytes:
    return struct.pack(">Q", entry_id)


def pack(ids: tuple[int, ...], truncated: bool) -> bytes:
    """ids newest first, as a Window holds them."""
    body = struct.pack(f">{len(ids)}Q", *reversed(ids))
    return TRUNCATED_MARK + body if truncated else body


def unpack(value: bytes) -> Window:
    truncated = value.startswith(TRUNCATED_MARK)
    body = value[8:] if truncated else value
    return Window(ids=struct.unpack(f">{len(body) // 8}Q", body)[::-1], truncated=truncated)
