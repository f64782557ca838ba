--[[
  Pauses or resumes every member of a group in one atomic step: one Redis instant for all of them
  and one change-counter bump, so from this write on the fire script refuses every member's slots
  (a clock that has not heard of it yet included). The single-schedule version is pause-4.lua; the
  records are the same. A group pause has no reason or end of its own: a member already paused keeps
  its pause as it is (its reason and until included).

  KEYS[1]  paused      set: names of paused schedules
  KEYS[2]  pauses      hash: name -> '{"pausedAt":ms}' while paused, '{"pausedAt":ms,"resumedAt":ms}' after
  KEYS[3]  changes     string: the change counter
  KEYS[4]  pause-ends  sorted set: name -> until (ms) of pauses that end by themselves

  ARGV[1]  "pause" or "resume"
  ARGV[2]  the instant, epoch ms; "" for Redis TIME (tests on a fake clock pass one)
  ARGV[3+] the members' names

  Returns  { version, changed, atMs }
           version  the change counter after this write (bumped once, even when nothing changed)
           changed  how many members' paused state changed
]]
local pausedKey = KEYS[1]
local pausesKey = KEYS[2]
local changesKey = KEYS[3]
local endsKey = KEYS[4]
local action = ARGV[1]
if action ~= 'pause' and action ~= 'resume' then
  return redis.error_reply('ERR clock pause group: unknown action ' .. tostring(action))
end

local atMs
if ARGV[2] == '' then
  local time = redis.call('TIME')
  atMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  atMs = tonumber(ARGV[2])
end
local at = string.format('%d', atMs)

local changed = 0
for i = 3, #ARGV do
  local name = ARGV[i]
  if action == 'pause' then
    -- As pause-4.lua: pausing a paused schedule keeps the instant its pause began.
    if redis.call('SADD', pausedKey, name) == 1 then
      redis.call('HSET', pausesKey, name, '{"pausedAt":' .. at .. '}')
      redis.call('ZREM', endsKey, name)
      changed = changed + 1
    end
  elseif redis.call('SREM', pausedKey, name) == 1 then
    local record = redis.call('HGET', pausesKey, name)
    local pausedAt = record and string.match(record, '"pausedAt":(%d+)') or 'null'
    redis.call('HSET', pausesKey, name, '{"pausedAt":' .. pausedAt .. ',"resumedAt":' .. at .. '}')
    redis.call('ZREM', endsKey, name)
    changed = changed + 1
  end
end

local version = redis.call('INCR', changesKey)
return { version, changed, atMs }
