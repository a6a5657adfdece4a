"""Timelines as packed strings: 8 bytes per entry, at about 8 bytes of Redis memory per entry.

A timeline is one Redis string of big-endian 64-bit tweet ids, newest first. When older entries
exist beyond what is kept, eight zero bytes end the string (no tweet has id 0). A sorted set
would cost about 100 bytes per entry; this costs a little over 8, at the price of the
insert and remove logic living in two small Lua scripts (O(n) memmove of a few KB each).
Ids are compared in Lua as two 32-bit halves: Lua numbers are doubles, and byte-string
comparison would follow Redis's collation locale.
"""

import struct
from dataclasses import dataclass

ENTRY = struct.Struct(">Q")
TRUNCATED_MARK = bytes(8)

_HELPERS = """
local ZERO = string.rep('\\0', 8)
local function at(s, i)
  return struct.unpack('>I4I4', s, i * 8 + 1)
end
local function entries(s)
  local n = #s / 8
  if n > 0 and string.sub(s, -8) == ZERO then
    return n - 1, true
  end
  return n, false
end
"""

# KEYS: timelines; ARGV[1]: the 8-byte id; ARGV[2]: the cap. Adds the id to every timeline that
# exists (an absent one belongs to an inactive user), in order, once; returns the 0-based
# positions in KEYS of the timelines that took it.
INSERT_SCRIPT = (
    _HELPERS
    + """
local id, cap = ARGV[1], tonumber(ARGV[2])
local ih, il = struct.unpack('>I4I4', id)
local taken = {}
for k, key in ipairs(KEYS) do
  local s = redis.call('GET', key)
  if s then
    local n, truncated = entries(s)
    local lo, hi = 0, n
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local h, l = at(s, mid)
      if h > ih or (h == ih and l > il) then lo = mid + 1 else hi = mid end
    end
    local present = false
    if lo < n then
      local h, l = at(s, lo)
      present = h == ih and l == il
    end
    if not present and lo < cap and not (truncated and lo == n) then
      local out = string.sub(s, 1, lo * 8) .. id .. string.sub(s, lo * 8 + 1, n * 8)
      if n + 1 > cap then
        out = string.sub(out, 1, cap * 8)
        truncated = true
      end
      if truncated then out = out .. ZERO end
      redis.call('SET', key, out, 'KEEPTTL')
      taken[#taken + 1] = k - 1
    end
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
    local n, truncated = entries(s)
    local kept, count = {}, 0
    for i = 0, n - 1 do
      local e = string.sub(s, i * 8 + 1, i * 8 + 8)
      if gone[e] then count = count + 1 else kept[#kept + 1] = e end
    end
    if count > 0 then
      if truncated then kept[#kept + 1] = ZERO end
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
    """The newest entries of a timeline, and whether older ones exist beyond them."""

    ids: tuple[int, ...]
    truncated: bool


def pack_id(entry_id: int) -> bytes:
    return ENTRY.pack(entry_id)


def pack(ids: list[int] | tuple[int, ...], truncated: bool) -> bytes:
    """ids newest first."""
    body = struct.pack(f">{len(ids)}Q", *ids)
    return body + TRUNCATED_MARK if truncated else body


def unpack(value: bytes) -> Window:
    truncated = value.endswith(TRUNCATED_MARK)
    body = value[:-8] if truncated else value
    return Window(ids=struct.unpack(f">{len(body) // 8}Q", body), truncated=truncated)
