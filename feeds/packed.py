"""Timelines as packed strings: 8 bytes per entry, about 9 to 10 bytes of Redis memory per entry.

A timeline is one Redis string: a 16-byte header (the entry count; the slot capacity, its top bit
set when older entries exist beyond the window; the newest id), the entries as big-endian 64-bit
tweet ids oldest first, then free slots (zero bytes). The usual insert, a tweet newer than
everything in the window, is one read of the header and two writes inside the string's length
(the entry into the first free slot, the new header), so Redis never reallocates the string
(APPEND would grow it greedily, doubling its memory). When the slots run out, the window is
rewritten with a sixteenth more of them (see free_slots). A full window holds from `cap` to
`cap + cap/16` entries: it is cut back to the newest `cap` only when it would pass that, so a full
timeline too is rewritten once per cap/16 pushes.

A sorted set would cost about 100 bytes per entry; this costs a little over 8, at the price of the
insert and remove logic living in two small Lua scripts. Ids are compared in Lua as two 32-bit
halves: Lua numbers are doubles, and byte-string comparison follows the collation locale.
"""

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">IIQ")  # entry count; capacity, top bit: truncated; newest id
TRUNCATED_BIT = 1 << 31

_HELPERS = """
local TRUNCATED = 2147483648
local function newer(ah, al, bh, bl)
  return ah > bh or (ah == bh and al > bl)
end
local function header(count, capacity, truncated, newest)
  return struct.pack('>I4I4', count, capacity + truncated * TRUNCATED) .. newest
end
-- Writes entries (oldest first, a string) as a window with free slots for a sixteenth more.
local function rewrite(key, body, truncated)
  local count = #body / 8
  local free = math.max(1, math.floor(count / 16))
  local newest = count > 0 and string.sub(body, -8) or string.rep('\\0', 8)
  local slots = string.rep('\\0', free * 8)
  redis.call('SET', key, header(count, count + free, truncated, newest) .. body .. slots, 'KEEPTTL')
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
local most = cap + math.floor(cap / 16)
local ih, il = struct.unpack('>I4I4', id)
local taken = {}
for k, key in ipairs(KEYS) do
  local head = redis.call('GETRANGE', key, 0, 15)
  local inserted = false
  if head ~= '' or redis.call('EXISTS', key) == 1 then
    local count, meta, nh, nl = 0, 0, -1, -1
    if head ~= '' then
      count, meta, nh, nl = struct.unpack('>I4I4I4I4', head)
    end
    local truncated = meta >= TRUNCATED and 1 or 0
    local capacity = meta % TRUNCATED
    local fresh = count == 0 or newer(ih, il, nh, nl)
    if fresh and head ~= '' and count < capacity and count < most then
      redis.call('SETRANGE', key, 16 + count * 8, id)
      redis.call('SETRANGE', key, 0, header(count + 1, capacity, truncated, id))
      inserted = true
    elseif fresh or not (ih == nh and il == nl) then
      local body = string.sub(redis.call('GET', key), 17, 16 + count * 8)
      local lo, hi = 0, count
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local h, l = struct.unpack('>I4I4', body, mid * 8 + 1)
        if newer(ih, il, h, l) then lo = mid + 1 else hi = mid end
      end
      local present = false
      if lo < count then
        local h, l = struct.unpack('>I4I4', body, lo * 8 + 1)
        present = h == ih and l == il
      end
      if not present and not (truncated == 1 and lo == 0) then
        body = string.sub(body, 1, lo * 8) .. id .. string.sub(body, lo * 8 + 1)
        if #body / 8 > most then
          body = string.sub(body, #body - cap * 8 + 1)
          truncated = 1
        end
        rewrite(key, body, truncated)
        inserted = true
      end
    end
  end
  if inserted then
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
  if s and #s >= 16 then
    local count, meta = struct.unpack('>I4I4', s)
    local kept, n = {}, 0
    for i = 0, count - 1 do
      local e = string.sub(s, 17 + i * 8, 24 + i * 8)
      if gone[e] then n = n + 1 else kept[#kept + 1] = e end
    end
    if n > 0 then
      rewrite(key, table.concat(kept), meta >= TRUNCATED and 1 or 0)
      removed = removed + n
    end
  end
end
return removed
"""
)


# KEYS: windows. ARGV: a TTL to renew ('' for none), then per key how many of its newest entries
# to return (-1: all). Returns per key false when absent or of another layout, else a packed window
# of those entries (no free slots), marked truncated when older entries were left out; so a read
# moves only what a page needs, not the whole window.
READ_SCRIPT = (
    _HELPERS
    + """
local ttl = ARGV[1]
local out = {}
for k, key in ipairs(KEYS) do
  local head = redis.call('GETRANGE', key, 0, 15)
  out[k] = false
  if head == '' then
    if redis.call('EXISTS', key) == 1 then out[k] = '' end
  elseif #head == 16 then
    local count, meta = struct.unpack('>I4I4', head)
    local truncated = meta >= TRUNCATED and 1 or 0
    local capacity = meta % TRUNCATED
    if count <= capacity and redis.call('STRLEN', key) == 16 + capacity * 8 then
      local limit = tonumber(ARGV[k + 1])
      local take = (limit >= 0 and limit < count) and limit or count
      if take < count then truncated = 1 end
      local body = ''
      if take > 0 then
        body = redis.call('GETRANGE', key, 16 + (count - take) * 8, 15 + count * 8)
      end
      out[k] = header(take, take, truncated, string.sub(head, 9, 16)) .. body
    end
  end
  if ttl ~= '' and out[k] then redis.call('EXPIRE', key, ttl) end
end
return out
"""
)


# The placeholder a rebuild leaves while it reads Neo4j: an empty window marked truncated (readers
# take nothing in it as complete), with free slots, so that pushes land in it meanwhile. It expires
# soon: a rebuild that died must not leave it in place of the window.
PLACEHOLDER_SLOTS = 16
PLACEHOLDER_TTL_SECONDS = 60

# KEYS[1]: a window being rebuilt. ARGV: the rebuilt entries (8-byte ids, oldest first), whether
# older ones exist (0/1), the cap, a TTL ('' for none: the window persists). Stores the rebuilt entries merged with
# those the key took meanwhile (pushes that landed in the placeholder), each once, the newest cap
# kept; returns the stored value. A key dropped meanwhile (its pushes since then lost) is left
# absent, for the next read to rebuild: returns false.
MERGE_SCRIPT = (
    _HELPERS
    + """
local built, truncated, cap, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local current = redis.call('GET', KEYS[1])
if not current then return false end
local pushed = ''
if #current >= 16 then
  local count = struct.unpack('>I4', current)
  pushed = string.sub(current, 17, 16 + count * 8)
end
local out, i, j, last = {}, 1, 1, nil
while i <= #built or j <= #pushed do
  local take
  if j > #pushed then
    take = string.sub(built, i, i + 7); i = i + 8
  elseif i > #built then
    take = string.sub(pushed, j, j + 7); j = j + 8
  else
    local a, b = string.sub(built, i, i + 7), string.sub(pushed, j, j + 7)
    local ah, al = struct.unpack('>I4I4', a)
    local bh, bl = struct.unpack('>I4I4', b)
    if newer(ah, al, bh, bl) then take = b; j = j + 8 else take = a; i = i + 8 end
  end
  if take ~= last then out[#out + 1] = take; last = take end
end
if #out > cap then
  out = {unpack(out, #out - cap + 1)}
  truncated = 1
end
rewrite(KEYS[1], table.concat(out), truncated)
if ttl ~= '' then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return redis.call('GET', KEYS[1])
"""
)


@dataclass(frozen=True)
class Window:
    """The newest entries of a timeline, newest first, and whether older ones exist beyond them."""

    ids: tuple[int, ...]
    truncated: bool


def pack_id(entry_id: int) -> bytes:
    return struct.pack(">Q", entry_id)


def free_slots(count: int) -> int:
    """Room left for pushes when a window of `count` entries is written: a sixteenth more, so the
    rewrite this costs comes once per count/16 pushes, at about half a byte per entry."""
    return max(1, count // 16)


def pack(ids: tuple[int, ...], truncated: bool, free: int = 0) -> bytes:
    """ids newest first, as a Window holds them."""
    body = struct.pack(f">{len(ids)}Q", *reversed(ids))
    capacity = len(ids) + free
    meta = capacity | TRUNCATED_BIT if truncated else capacity
    return HEADER.pack(len(ids), meta, ids[0] if ids else 0) + body + bytes(8 * free)


def unpack(value: bytes) -> Window:
    """An empty string is an empty window (as a caller may create one to mark a reader active)."""
    if not value:
        return Window(ids=(), truncated=False)
    count, meta, _ = HEADER.unpack_from(value)
    ids = struct.unpack_from(f">{count}Q", value, HEADER.size)[::-1]
    return Window(ids=ids, truncated=bool(meta & TRUNCATED_BIT))
