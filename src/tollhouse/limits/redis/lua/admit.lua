-- ARGV: prefix, n_windows, then per window: limit, seconds, id ("app:endpoint");
--       org, cap (-1: none), enforce (1: refuse at the cap), reserve, reserve_ttl,
--       then three billing months: start0, end0, start1, end1, start2, end2.
-- Returns: now, refusal (0 none, 1 window, 2 cap, 3 cap_pending), used, period start, period end,
--          reserved posts granted, then per window: count, reset.
local prefix = ARGV[1]
local now = tonumber(redis.call('TIME')[1])
local nwin = tonumber(ARGV[2])
local i = 3
local keys, counts, resets = {}, {}, {}
local refusal = 0
for w = 1, nwin do
  local limit, secs = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local index = math.floor(now / secs)
  local key = prefix .. 'w:' .. ARGV[i + 2] .. ':' .. secs .. ':' .. index
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= limit then refusal = 1 end
  keys[w], counts[w], resets[w] = key, count, (index + 1) * secs
  i = i + 3
end
local org, cap, enforce = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1'
local reserve, reserve_ttl = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
i = i + 5
local pstart, pend = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
for c = 0, 2 do
  local s, e = tonumber(ARGV[i + 2 * c]), tonumber(ARGV[i + 2 * c + 1])
  if s <= now and now < e then pstart, pend = s, e end
end
local used = tonumber(redis.call('GET', prefix .. 'cap:' .. org .. ':' .. pstart) or '0')
local granted = 0
if enforce then
  local rkey = prefix .. 'rsv:' .. org .. ':' .. pstart
  local reserved = tonumber(redis.call('GET', rkey) or '0')
  if used >= cap then
    refusal = 2
  elseif refusal == 0 and used + reserved >= cap then
    refusal = 3
  end
  if refusal == 0 and reserve > 0 then
    redis.call('INCRBY', rkey, reserve)
    redis.call('EXPIRE', rkey, reserve_ttl)
    granted = reserve
  end
end
if refusal == 0 then
  for w = 1, nwin do
    counts[w] = redis.call('INCR', keys[w])
    if counts[w] == 1 then redis.call('EXPIREAT', keys[w], resets[w] + 1) end
  end
end
local out = {now, refusal, used, pstart, pend, granted}
for w = 1, nwin do
  out[#out + 1] = counts[w]
  out[#out + 1] = resets[w]
end
return out
