--[[
  Fires slots in one atomic step: fence (lease), ledger, push.

  KEYS[1]  lease      string: the leader's token
  KEYS[2]  ledger     hash: schedule name -> latest fired slot (epoch ms)
  KEYS[3]  outbox     hash: "<schedule>\0<slot>" -> message, for adapters that enqueue after the script
  KEYS[4]  stats      hash: counters (fenceRefusals)
  KEYS[5]  paused     set: names of paused schedules, whose scheduled slots are refused
  KEYS[6+] the adapters' keys, referenced by index from the writes below

  ARGV[1]  caller's lease token; "" skips the fence (single-process mode)
  ARGV[2]  entry count N, then N entries, each:
             mode ("s" scheduled: ledger-checked, "m" manual: not), schedule, slotAt,
             outbox message ("" for none), write count W, then W writes:
               command, key index (into KEYS), arg count A, then A args

  Returns  { redisNowMicros, status1, ..., statusN }
           status  1 fired, 0 already fired (ledger >= slot), -1 fenced (caller is not the leader),
                  -2 early (Redis time is before the slot), -3 paused (the schedule is paused)
]]
local leaseKey = KEYS[1]
local ledgerKey = KEYS[2]
local outboxKey = KEYS[3]
local statsKey = KEYS[4]
local pausedKey = KEYS[5]
local token = ARGV[1]
local count = tonumber(ARGV[2])

local time = redis.call('TIME')
local nowMicros = tonumber(time[1]) * 1000000 + tonumber(time[2])
local nowMs = math.floor(nowMicros / 1000)

local result = { nowMicros }

if token ~= '' and redis.call('GET', leaseKey) ~= token then
  redis.call('HINCRBY', statsKey, 'fenceRefusals', count)
  for i = 1, count do result[i + 1] = -1 end
  return result
end

local allowed = { LPUSH = true, RPUSH = true, SADD = true, ZADD = true, SET = true, HSET = true, XADD = true }
-- A pause holds from the instant it reaches Redis, even for a clock that has not heard of it yet.
-- Usually nothing is paused: then one SCARD per call, not a lookup per slot.
local anyPaused = redis.call('SCARD', pausedKey) > 0
local at = 3
for i = 1, count do
  local mode = ARGV[at]
  local schedule = ARGV[at + 1]
  local slotText = ARGV[at + 2]
  local slotAt = tonumber(slotText)
  local message = ARGV[at + 3]
  local writeCount = tonumber(ARGV[at + 4])
  at = at + 5
  local status = 1
  if mode == 's' then
    local last = tonumber(redis.call('HGET', ledgerKey, schedule))
    if slotAt > nowMs then
      status = -2
    elseif last ~= nil and last >= slotAt then
      status = 0
    elseif anyPaused and redis.call('SISMEMBER', pausedKey, schedule) == 1 then
      status = -3
    end
  end
  if status == 1 and mode == 's' then
    redis.call('HSET', ledgerKey, schedule, slotText)
  end
  for w = 1, writeCount do
    local command = ARGV[at]
    local key = KEYS[tonumber(ARGV[at + 1])]
    local argCount = tonumber(ARGV[at + 2])
    if status == 1 then
      if not allowed[command] then
        return redis.error_reply('ERR clock fire: command not allowed: ' .. tostring(command))
      end
      redis.call(command, key, unpack(ARGV, at + 3, at + 2 + argCount))
    end
    at = at + 3 + argCount
  end
  if status == 1 and message ~= '' then
    redis.call('HSET', outboxKey, schedule .. '\0' .. slotText, message)
  end
  result[i + 1] = status
end
return result
