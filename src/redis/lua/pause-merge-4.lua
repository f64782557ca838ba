--[[
  With shards > 1: copies pause records from a shard (shard-pause-2.lua, whose write came first and
  is the one the fire script obeys) into the deployment's paused set, records and pause ends, and
  counts the change. A record is taken when it is newer than the deployment's (the order of
  shard-pause-2.lua's header), or as new but not the same (a paused schedule's new reason or until):
  so a copy read before a concurrent pause or resume never undoes it.

  KEYS[1]  paused      set: names of paused schedules (what clients, status and sync read)
  KEYS[2]  pauses      hash: name -> pause record
  KEYS[3]  changes     string: the change counter
  KEYS[4]  pause-ends  sorted set: name -> `until` (ms) of the pauses that end by themselves

  ARGV     pairs: name, record

  Returns  { version, changed }
           version  the change counter after this write (bumped only when something changed)
           changed  how many records were taken
]]
local pausedKey = KEYS[1]
local pausesKey = KEYS[2]
local changesKey = KEYS[3]
local endsKey = KEYS[4]

local function field(record, name)
  local value = string.match(record, '"' .. name .. '":(%d+)')
  return value and tonumber(value) or nil
end
local function rank(record)
  if record == nil then return -2, 0 end
  return field(record, 'pausedAt') or -1, field(record, 'resumedAt') and 1 or 0
end

local changed = 0
for i = 1, #ARGV - 1, 2 do
  local name = ARGV[i]
  local incoming = ARGV[i + 1]
  local record = redis.call('HGET', pausesKey, name)
  if record == false then record = nil end
  local ip, ir = rank(incoming)
  local cp, cr = rank(record)
  if ip > cp or (ip == cp and ir > cr) or (ip == cp and ir == cr and incoming ~= record) then
    redis.call('HSET', pausesKey, name, incoming)
    local untilMs = field(incoming, 'until')
    if ir == 1 then
      redis.call('SREM', pausedKey, name)
      redis.call('ZREM', endsKey, name)
    else
      redis.call('SADD', pausedKey, name)
      if untilMs ~= nil then redis.call('ZADD', endsKey, untilMs, name) else redis.call('ZREM', endsKey, name) end
    end
    changed = changed + 1
  end
end

local version
if changed > 0 then version = redis.call('INCR', changesKey) else version = tonumber(redis.call('GET', changesKey) or '0') end
return { version, changed }
