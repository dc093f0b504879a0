-- ARGV: prefix, n_windows, then per window: limit, seconds, id ("app:endpoint");
--       org, cap (-1: none), enforce (1: refuse at the cap), reserve, reserve_ttl,
--       then three billing months: start0, end0, start1, end1, start2, end2.
-- Returns: now, refusal (0 none, 1 window, 2 cap, 3 cap_pending), used, period start, period end,
--          reserved posts granted, then per window: count, reset.
--DMIT = """
--ocal prefix = ARGV[1]
--ocal now = tonumber(redis.call('TIME')[1])
--ocal nwin = tonumber(ARGV[2])
--ocal i = 3
--ocal keys, counts, resets = {}, {}, {}
--ocal refusal = 0
--or w = 1, nwin do
-- local limit, secs = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
-- local index = math.floor(now / secs)
-- local key = prefix .. 'w:' .. ARGV[i + 2] .. ':' .. secs .. ':' .. index
-- local count = tonumber(redis.call('GET', key) or '0')
-- if count >= limit then refusal = 1 end
-- keys[w], counts[w], resets[w] = key, count, (index + 1) * secs
-- i = i + 3
--nd
--ocal org, cap, enforce = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1'
--ocal reserve, reserve_ttl = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
-- = i + 5
--ocal pstart, pend = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
--or c = 0, 2 do
-- local s, e = tonumber(ARGV[i + 2 * c]), tonumber(ARGV[i + 2 * c + 1])
-- if s <= now and now < e then pstart, pend = s, e end
--nd
--ocal used = tonumber(redis.call('GET', prefix .. 'cap:' .. org .. ':' .. pstart) or '0')
--ocal granted = 0
--f enforce then
-- local rkey = prefix .. 'rsv:' .. org .. ':' .. pstart
-- local reserved = tonumber(redis.call('GET', rkey) or '0')
-- if used >= cap then
--   refusal = 2
-- elseif refusal == 0 and used + reserved >= cap then
--   refusal = 3
-- end
-- if refusal == 0 and reserve > 0 then
--   redis.call('INCRBY', rkey, reserve)
--   redis.call('EXPIRE', rkey, reserve_ttl)
--   granted = reserve
-- end
--nd
--f refusal == 0 then
-- for w = 1, nwin do
--   counts[w] = redis.call('INCR', keys[w])
--   if counts[w] == 1 then redis.call('EXPIREAT', keys[w], resets[w] + 1) end
-- end
--nd
--ocal out = {now, refusal, used, pstart, pend, granted}
--or w = 1, nwin do
-- out[#out + 1] = counts[w]
-- out[#out + 1] = resets[w]
--nd
--eturn out
--""
--
-- ARGV: prefix, org, app, hashes per post, release (reserved posts to give back),
--       release_period_start, then three billing months (6 numbers), then the bit positions
--       (hashes per post, in order) packed in one string as little-endian uint32s: one
--       argument instead of hundreds, whose encoding by the client cost more than the script.
-- Returns: new posts counted, used after, period end.
--OUNT = """
--ocal prefix, org, app = ARGV[1], ARGV[2], ARGV[3]
--ocal k, release, release_start = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
--ocal now = tonumber(redis.call('TIME')[1])
--ocal day = math.floor(now / 86400)
--ocal pstart, pend = tonumber(ARGV[9]), tonumber(ARGV[10])
--or c = 0, 2 do
-- local s, e = tonumber(ARGV[7 + 2 * c]), tonumber(ARGV[8 + 2 * c])
-- if s <= now and now < e then pstart, pend = s, e end
--nd
--ocal seen = prefix .. 'seen:' .. org .. ':' .. day
--ocal new = 0
--ocal packed = ARGV[13] or ''
--or p = 1, #packed, 4 * k do
-- local fresh = false
-- for j = 0, k - 1 do
--   local position = struct.unpack('<I4', packed, p + 4 * j)
--   if redis.call('SETBIT', seen, position, 1) == 0 then fresh = true end
-- end
-- if fresh then new = new + 1 end
--nd
--f #packed > 0 then redis.call('EXPIREAT', seen, (day + 1) * 86400 + 3600) end
--f release > 0 then
-- local rkey = prefix .. 'rsv:' .. org .. ':' .. release_start
-- if tonumber(redis.call('DECRBY', rkey, release)) <= 0 then redis.call('DEL', rkey) end
--nd
--ocal capkey = prefix .. 'cap:' .. org .. ':' .. pstart
--ocal used = tonumber(redis.call('GET', capkey) or '0')
--f new > 0 then
-- used = redis.call('INCRBY', capkey, new)
-- redis.call('EXPIREAT', capkey, pend + 86400)
-- local dkey = prefix .. 'daily:' .. org .. ':' .. day
-- redis.call('HINCRBY', dkey, app, new)
-- redis.call('EXPIREAT', dkey, (day + 91) * 86400)
--nd
--eturn {new, used, pend}
--""
--
-- ARGV: prefix, org, days, then three billing months. Returns: now, used, start, end, then per
-- day (oldest first): day number, then the flat HGETALL of that day's per-app counts.
local prefix, org, days = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = tonumber(redis.call('TIME')[1])
local today = math.floor(now / 86400)
local pstart, pend = tonumber(ARGV[6]), tonumber(ARGV[7])
for c = 0, 2 do
  local s, e = tonumber(ARGV[4 + 2 * c]), tonumber(ARGV[5 + 2 * c])
  if s <= now and now < e then pstart, pend = s, e end
end
local used = tonumber(redis.call('GET', prefix .. 'cap:' .. org .. ':' .. pstart) or '0')
local out = {now, used, pstart, pend}
for d = today - days + 1, today do
  out[#out + 1] = {d, redis.call('HGETALL', prefix .. 'daily:' .. org .. ':' .. d)}
end
return out
