--[[
  Pauses or resumes one schedule and counts the change, stamped with Redis time, in one atomic
  step: the instant stored is the instant from which the fire script refuses (or again accepts)
  the schedule's slots, on the same clock the fire script judges slots by.

  KEYS[1]  paused      set: names of paused schedules (the fire script refuses their slots)
  KEYS[2]  pauses      hash: name -> '{"pausedAt":ms[,"reason":"..."][,"until":ms]}' while paused,
                       '{"pausedAt":ms,"resumedAt":ms}' after
  KEYS[3]  changes     string: the change counter
  KEYS[4]  pause-ends  sorted set: name -> `until` (ms) of the pauses that end by themselves

  ARGV[1]  schedule name
  ARGV[2]  "pause", "resume", or "expire" (the leader: resume only if the pause's `until` has come,
           stamping the resume at `until`, exactly as a resume sent at that instant)
  ARGV[3]  the instant, epoch ms; "" for Redis TIME (tests on a fake clock pass one)
  ARGV[4]  pause: its reason ("" for none)
  ARGV[5]  pause: when it ends by itself, epoch ms ("" for never)

  Returns  { version, changed, atMs }
           version  the change counter after this change (unchanged by an expire that did nothing)
           changed  1 when the paused state changed, 0 when it already was so (nothing is stamped;
                    a pause of a paused schedule still takes the new reason and until)
           atMs     the instant stamped (for an expire: the pause's until)
]]
local pausedKey = KEYS[1]
local pausesKey = KEYS[2]
local changesKey = KEYS[3]
local endsKey = KEYS[4]
local name = ARGV[1]
local action = ARGV[2]
local reason = ARGV[4] or ''
local untilText = ARGV[5] or ''

local atMs
if ARGV[3] == '' then
  local time = redis.call('TIME')
  atMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  atMs = tonumber(ARGV[3])
end
local at = string.format('%d', atMs)

local function pausedAtOf(record)
  return record and string.match(record, '"pausedAt":(%d+)') or 'null'
end

local function resume(stamp)
  local pausedAt = pausedAtOf(redis.call('HGET', pausesKey, name))
  redis.call('HSET', pausesKey, name, '{"pausedAt":' .. pausedAt .. ',"resumedAt":' .. stamp .. '}')
  redis.call('ZREM', endsKey, name)
end

local changed
if action == 'pause' then
  changed = redis.call('SADD', pausedKey, name)
  -- Pausing a paused schedule keeps the instant its pause began (and takes the new reason and end).
  local pausedAt = at
  if changed == 0 then pausedAt = pausedAtOf(redis.call('HGET', pausesKey, name)) end
  local record = '{"pausedAt":' .. pausedAt
  if reason ~= '' then record = record .. ',"reason":' .. cjson.encode(reason) end
  if untilText ~= '' then
    record = record .. ',"until":' .. untilText
    redis.call('ZADD', endsKey, untilText, name)
  else
    redis.call('ZREM', endsKey, name)
  end
  redis.call('HSET', pausesKey, name, record .. '}')
elseif action == 'resume' then
  changed = redis.call('SREM', pausedKey, name)
  -- Resuming an active schedule stamps nothing: a resume instant would skip slots an outage missed.
  if changed == 1 then resume(at) end
elseif action == 'expire' then
  local untilMs = tonumber(redis.call('ZSCORE', endsKey, name))
  if untilMs == nil or untilMs > atMs then return { tonumber(redis.call('GET', changesKey) or '0'), 0, atMs } end
  changed = redis.call('SREM', pausedKey, name)
  if changed == 0 then
    redis.call('ZREM', endsKey, name)
    return { tonumber(redis.call('GET', changesKey) or '0'), 0, atMs }
  end
  atMs = untilMs
  resume(string.format('%d', untilMs))
else
  return redis.error_reply('ERR clock pause: unknown action ' .. tostring(action))
end

local version = redis.call('INCR', changesKey)
return { version, changed, atMs }
