--[[
  Pauses or resumes one schedule and counts the change, stamped with Redis time, in one atomic
  step: the instant stored is the instant from which the fire script refuses (or again accepts)
  the schedule's slots, on the same clock the fire script judges slots by.

  KEYS[1]  paused   set: names of paused schedules (the fire script refuses their slots)
  KEYS[2]  pauses   hash: name -> '{"pausedAt":ms}' while paused, '{"pausedAt":ms,"resumedAt":ms}' after
  KEYS[3]  changes  string: the change counter

  ARGV[1]  schedule name
  ARGV[2]  "pause" or "resume"
  ARGV[3]  the instant, epoch ms; "" for Redis TIME (tests on a fake clock pass one)

  Returns  { version, changed, atMs }
           version  the change counter after this change
           changed  1 when the paused state changed, 0 when it already was so (nothing is stamped)
]]
local pausedKey = KEYS[1]
local pausesKey = KEYS[2]
local changesKey = KEYS[3]
local name = ARGV[1]
local action = ARGV[2]

local atMs
if ARGV[3] == '' then
  local time = redis.call('TIME')
  atMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  atMs = tonumber(ARGV[3])
end
local at = string.format('%d', atMs)

local changed
if action == 'pause' then
  changed = redis.call('SADD', pausedKey, name)
  -- Pausing a paused schedule keeps the instant its pause began.
  if changed == 1 then redis.call('HSET', pausesKey, name, '{"pausedAt":' .. at .. '}') end
elseif action == 'resume' then
  changed = redis.call('SREM', pausedKey, name)
  -- Resuming an active schedule stamps nothing: a resume instant would skip slots an outage missed.
  if changed == 1 then
    local record = redis.call('HGET', pausesKey, name)
    local pausedAt = record and string.match(record, '"pausedAt":(%d+)') or 'null'
    redis.call('HSET', pausesKey, name, '{"pausedAt":' .. pausedAt .. ',"resumedAt":' .. at .. '}')
  end
else
  return redis.error_reply('ERR clock pause: unknown action ' .. tostring(action))
end

local version = redis.call('INCR', changesKey)
return { version, changed, atMs }
