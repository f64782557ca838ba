--[[
  Fires slots in one atomic step: fence (lease), ledger, push.

  KEYS[1]  lease      string: the leader's token
  KEYS[2]  ledger     hash: schedule name -> latest fired slot (epoch ms)
  KEYS[3]  outbox     hash: "<schedule>\0<slot>" -> message, for adapters that enqueue after the script
  KEYS[4]  stats      hash: counters (fenceRefusals)
  KEYS[5]  paused     set: names of paused schedules, whose scheduled slots are refused
  KEYS[6+] the adapters' keys, referenced by index from the writes below

  ARGV[1]  caller's lease token; "" skips the fence (single-process mode)
  ARGV[2]  the entries, a JSON array (one argument: one string for the client to send and one
           cjson.decode here, not thousands of arguments), each an object:
             m  mode: "s" scheduled (ledger-checked), "m" manual (not), "k" / "r" scheduled with
                overlap skip / replace
             n  schedule   t  slotAt (epoch ms, as text)   o  outbox message (absent for none)
             l, r  maxRuns and the runs key's index (hash: schedule -> fires counted so far), for
                a schedule with maxRuns only
             p, k, c  for "k" and "r" only, the overlap check: the pushed key's index (hash:
                schedule -> "<slot>:<mark>" of its last pushed job), the mark (what this job leaves
                in its queue: the payload, or the job id), the checks [kind, key index]: kind "l" a
                list the mark waits in, "z" a sorted set it waits in, "a" a list it sits in while
                running
             w  the writes: [command, key index (into KEYS), args...]

  Overlap: the previous job is pending while the outbox still holds it (not yet enqueued), or its mark
  is in a checked key. "k": the slot is skipped (ledger advanced, nothing written). "r": a waiting one
  is withdrawn (its outbox entry removed, or LREM from the "l" lists; for an outbox adapter, whose
  own client must remove it, the new outbox message names it under "withdraw"), then the job is
  pushed; a running one cannot be withdrawn, so the job is pushed beside it.

  Returns  { redisNowMicros, status1, ..., statusN, then for each overlap skip or replace: entry
           index, previous slot, the mark the adapter's client must withdraw ("" for none) }
           status  1 fired, 0 already fired (ledger >= slot), -1 fenced (caller is not the leader),
                  -2 early (Redis time is before the slot), -3 paused (the schedule is paused),
                  2 skipped (overlap: the previous job is pending), 3 fired, replacing a waiting job,
                  -4 done (the schedule has fired maxRuns times: the slot is refused, the ledger stays)
]]
local leaseKey = KEYS[1]
local ledgerKey = KEYS[2]
local outboxKey = KEYS[3]
local statsKey = KEYS[4]
local pausedKey = KEYS[5]
local token = ARGV[1]
local list = cjson.decode(ARGV[2])
local count = #list

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
local overlaps = {}

-- The previous pushed job of an overlap entry: its slot and mark, and whether it is pending
-- ('outbox', 'waiting' or 'running'; nil when it is gone or there is none).
local function previousJob(pushedKey, schedule, checks)
  local stored = redis.call('HGET', pushedKey, schedule)
  if not stored then return nil, nil, nil end
  local colon = string.find(stored, ':', 1, true)
  if not colon then return nil, nil, nil end -- not ours: as if nothing were pushed
  local slot = string.sub(stored, 1, colon - 1)
  local mark = string.sub(stored, colon + 1)
  if redis.call('HEXISTS', outboxKey, schedule .. '\0' .. slot) == 1 then return slot, mark, 'outbox' end
  for _, check in ipairs(checks) do
    local found
    if check.kind == 'z' then found = redis.call('ZSCORE', check.key, mark) else found = redis.call('LPOS', check.key, mark) end
    if found then return slot, mark, (check.kind == 'a' and 'running' or 'waiting') end
  end
  return slot, mark, nil
end

-- Parse every entry first: then the ledger is read with one HMGET and written with one HSET, and
-- the pushes to one key go out as one command, instead of a few calls per slot (a burst of 500
-- slots is a handful of calls, not 2,000).
local entries = {}
local names = {}
local anyOverlap = false
for i = 1, count do
  local e = list[i]
  local entry = { mode = e.m, schedule = e.n, slotText = e.t, message = e.o or '', writes = e.w, limit = e.l }
  entry.slotAt = tonumber(entry.slotText)
  -- maxRuns: counted here, with the ledger advance, so a restart or a second clock counts the same.
  if e.r ~= nil then entry.runsKey = KEYS[e.r] end
  entry.checks = {}
  if entry.mode == 'k' or entry.mode == 'r' then
    anyOverlap = true
    entry.pushedKey = KEYS[e.p]
    entry.mark = e.k
    for c, check in ipairs(e.c) do
      entry.checks[c] = { kind = check[1], key = KEYS[check[2]] }
    end
  end
  for _, w in ipairs(entry.writes) do
    if not allowed[w[1]] then
      return redis.error_reply('ERR clock fire: command not allowed: ' .. tostring(w[1]))
    end
  end
  if entry.mode ~= 'm' then names[#names + 1] = entry.schedule end
  entries[i] = entry
end

-- The ledger as this batch sees it: read once, updated as entries fire (a catch-up batch holds
-- several slots of one schedule, each checked against the one before it).
local ledger = {}
local changed = {}
local changedOrder = {}
for first = 1, #names, 1000 do
  local last = math.min(first + 999, #names)
  local values = redis.call('HMGET', ledgerKey, unpack(names, first, last))
  for n = first, last do
    local value = values[n - first + 1]
    if value then ledger[names[n]] = tonumber(value) end
  end
end

-- Pushes to one key by one command, merged in order (LPUSH k a, LPUSH k b = LPUSH k a b). Not
-- while an overlap entry is in the batch: its checks read the queues between pushes.
local mergeable = { LPUSH = true, RPUSH = true, SADD = true, HSET = true }
local groups = {}
local groupOrder = {}
local MAX_GROUP_ARGS = 4000
local function flush(group)
  if #group.args > 0 then redis.call(group.command, group.key, unpack(group.args)) end
  group.args = {}
end
local function write(w)
  local command = w[1]
  local key = KEYS[w[2]]
  if anyOverlap or not mergeable[command] then
    redis.call(command, key, unpack(w, 3))
    return
  end
  local id = command .. '\0' .. key
  local group = groups[id]
  if group == nil then
    group = { command = command, key = key, args = {} }
    groups[id] = group
    groupOrder[#groupOrder + 1] = group
  end
  local args = group.args
  for a = 3, #w do args[#args + 1] = w[a] end
  if #args >= MAX_GROUP_ARGS then flush(group) end
end
local outboxArgs = {}

-- Fires counted per schedule with maxRuns, read once and kept up to date through the batch.
local runs = {}
local function runsOf(runsKey, schedule)
  if runs[schedule] == nil then runs[schedule] = tonumber(redis.call('HGET', runsKey, schedule)) or 0 end
  return runs[schedule]
end

for i = 1, count do
  local entry = entries[i]
  local mode = entry.mode
  local schedule = entry.schedule
  local slotText = entry.slotText
  local slotAt = entry.slotAt
  local message = entry.message
  local pushedKey, mark, checks = entry.pushedKey, entry.mark, entry.checks
  local status = 1
  if mode ~= 'm' then
    local last = ledger[schedule]
    if slotAt > nowMs then
      status = -2
    elseif last ~= nil and last >= slotAt then
      status = 0
    elseif anyPaused and redis.call('SISMEMBER', pausedKey, schedule) == 1 then
      status = -3
    elseif entry.limit ~= nil and runsOf(entry.runsKey, schedule) >= entry.limit then
      status = -4
    end
  end
  if status == 1 and pushedKey ~= nil then
    local previousSlot, previousMark, pending = previousJob(pushedKey, schedule, checks)
    if pending ~= nil and mode == 'k' then
      status = 2
      overlaps[#overlaps + 1] = { i, tonumber(previousSlot), '' }
    elseif pending == 'outbox' then
      -- Not enqueued yet: withdrawn here, so no drain ever adds it.
      redis.call('HDEL', outboxKey, schedule .. '\0' .. previousSlot)
      status = 3
      overlaps[#overlaps + 1] = { i, tonumber(previousSlot), '' }
    elseif pending == 'waiting' then
      status = 3
      if message == '' then
        for _, check in ipairs(checks) do
          if check.kind == 'l' then redis.call('LREM', check.key, 0, previousMark) end
        end
        overlaps[#overlaps + 1] = { i, tonumber(previousSlot), '' }
      else
        -- Only the adapter's own client can remove its job: the outbox entry says which, for a drain after a crash.
        message = string.sub(message, 1, -2) .. ',"withdraw":' .. cjson.encode(previousMark) .. '}'
        overlaps[#overlaps + 1] = { i, tonumber(previousSlot), previousMark }
      end
    end
  end
  if (status == 1 or status == 2 or status == 3) and mode ~= 'm' then
    if changed[schedule] == nil then changedOrder[#changedOrder + 1] = schedule end
    changed[schedule] = slotText
    ledger[schedule] = slotAt
  end
  if status == 1 or status == 3 then
    for _, w in ipairs(entry.writes) do write(w) end
    if message ~= '' then
      outboxArgs[#outboxArgs + 1] = schedule .. '\0' .. slotText
      outboxArgs[#outboxArgs + 1] = message
    end
    if pushedKey ~= nil then
      redis.call('HSET', pushedKey, schedule, slotText .. ':' .. mark)
    end
    if entry.runsKey ~= nil then
      runs[schedule] = runsOf(entry.runsKey, schedule) + 1
      redis.call('HINCRBY', entry.runsKey, schedule, 1)
    end
  end
  result[i + 1] = status
end
for _, group in ipairs(groupOrder) do flush(group) end
for first = 1, #outboxArgs, MAX_GROUP_ARGS do
  redis.call('HSET', outboxKey, unpack(outboxArgs, first, math.min(first + MAX_GROUP_ARGS - 1, #outboxArgs)))
end
local ledgerArgs = {}
for _, schedule in ipairs(changedOrder) do
  ledgerArgs[#ledgerArgs + 1] = schedule
  ledgerArgs[#ledgerArgs + 1] = changed[schedule]
end
for first = 1, #ledgerArgs, MAX_GROUP_ARGS do
  redis.call('HSET', ledgerKey, unpack(ledgerArgs, first, math.min(first + MAX_GROUP_ARGS - 1, #ledgerArgs)))
end
for _, overlap in ipairs(overlaps) do
  result[#result + 1] = overlap[1]
  result[#result + 1] = overlap[2]
  result[#result + 1] = overlap[3]
end
return result
