--[[
  A shard's pause state (with shards > 1), in the shard's own slot: the paused set its fire script
  refuses slots by, and beside it the records (the same JSON as the deployment's `{ns}:pauses`).
  Writers change this first and the deployment's copy after (pause-merge-4.lua), so a pause holds
  from this write; the shard leader's reconcile copies whichever side is newer onto the other
  (dynamic/shard-pauses.ts).

  Records are ordered: a record is newer than another when its pausedAt is later (absent < null <
  a number), or, with the same pausedAt, when it is resumed and the other is not. Every write here
  only moves a record forward, so a copy read before a concurrent pause or resume cannot undo it.

  KEYS[1]  paused  set: names of the shard's paused schedules
  KEYS[2]  pauses  hash: name -> '{"pausedAt":ms[,"reason":"..."][,"until":ms]}' while paused,
                   '{"pausedAt":ms,"resumedAt":ms}' after

  ARGV[1]  action:
             "pause"       pause each name (a paused one keeps its start, takes the reason and until)
             "pause-keep"  the same, but a paused one is left as it is (a group pause)
             "resume"      resume each paused name
             "expire"      pairs name, until: resume at `until` if its pause still ends then and it has come
             "merge"       pairs name, record: take the record if it is newer than the shard's
             "delete"      forget each name (its schedule was removed)
  ARGV[2]  the instant, epoch ms; "" for Redis TIME (tests on a fake clock pass one)
  ARGV[3]  pause: its reason ("" for none)
  ARGV[4]  pause: when it ends by itself, epoch ms ("" for never)
  ARGV[5+] the names (or the pairs)

  Returns  { atMs, then per name: changed (1 when the record changed), the record after ("" for none) }
]]
local pausedKey = KEYS[1]
local pausesKey = KEYS[2]
local action = ARGV[1]
local reason = ARGV[3] or ''
local untilText = ARGV[4] or ''

local nowMs
if ARGV[2] == '' then
  local time = redis.call('TIME')
  nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  nowMs = tonumber(ARGV[2])
end

local function field(record, name)
  local value = string.match(record, '"' .. name .. '":(%d+)')
  return value and tonumber(value) or nil
end
local function isPaused(record)
  return record ~= nil and field(record, 'resumedAt') == nil
end
-- (pausedAt rank, resumed) of a record: absent -2, a pause from a version that did not stamp it -1.
local function rank(record)
  if record == nil then return -2, 0 end
  return field(record, 'pausedAt') or -1, field(record, 'resumedAt') and 1 or 0
end
local function newer(a, b)
  local ap, ar = rank(a)
  local bp, br = rank(b)
  return ap > bp or (ap == bp and ar > br)
end
local function current(name)
  local record = redis.call('HGET', pausesKey, name)
  if record == false then return nil end
  return record
end
local function put(name, record)
  redis.call('HSET', pausesKey, name, record)
  if isPaused(record) then redis.call('SADD', pausedKey, name) else redis.call('SREM', pausedKey, name) end
end
local function pausedText(record)
  return string.match(record, '"pausedAt":(%d+)') or 'null'
end
local function resumed(record, atMs)
  local pausedAt = field(record, 'pausedAt')
  if pausedAt ~= nil and pausedAt > atMs then atMs = pausedAt end
  return '{"pausedAt":' .. pausedText(record) .. ',"resumedAt":' .. string.format('%d', atMs) .. '}'
end

local result = { nowMs }
local function answer(changed, record)
  result[#result + 1] = changed
  result[#result + 1] = record or ''
end
-- Takes `record` for `name` when `take`; answers either way.
local function takeIf(take, name, record, previous)
  if take then
    put(name, record)
    answer(1, record)
  else
    answer(0, previous)
  end
end

if action == 'pause' or action == 'pause-keep' then
  for i = 5, #ARGV do
    local name = ARGV[i]
    local record = current(name)
    local changed = 0
    if not isPaused(record) or action == 'pause' then
      local pausedAt
      if isPaused(record) then
        pausedAt = pausedText(record)
      else
        -- After the previous pause (and its resume): the new record is newer than it by the order above.
        local atMs = nowMs
        if record ~= nil then
          local before = math.max(field(record, 'pausedAt') or 0, field(record, 'resumedAt') or 0)
          if before >= atMs then atMs = before + 1 end
        end
        pausedAt = string.format('%d', atMs)
        changed = 1
      end
      local text = '{"pausedAt":' .. pausedAt
      if reason ~= '' then text = text .. ',"reason":' .. cjson.encode(reason) end
      if untilText ~= '' then text = text .. ',"until":' .. untilText end
      text = text .. '}'
      if text ~= record then put(name, text) end
      record = text
    end
    answer(changed, record)
  end
elseif action == 'resume' then
  for i = 5, #ARGV do
    local name = ARGV[i]
    local record = current(name)
    takeIf(isPaused(record), name, isPaused(record) and resumed(record, nowMs), record)
  end
elseif action == 'expire' then
  for i = 5, #ARGV - 1, 2 do
    local name = ARGV[i]
    local untilMs = tonumber(ARGV[i + 1])
    local record = current(name)
    local due = isPaused(record) and field(record, 'until') == untilMs and untilMs <= nowMs
    takeIf(due, name, due and resumed(record, untilMs), record)
  end
elseif action == 'merge' then
  for i = 5, #ARGV - 1, 2 do
    local name = ARGV[i]
    local incoming = ARGV[i + 1]
    local record = current(name)
    takeIf(newer(incoming, record), name, incoming, record)
  end
elseif action == 'delete' then
  for i = 5, #ARGV do
    local name = ARGV[i]
    redis.call('SREM', pausedKey, name)
    answer(redis.call('HDEL', pausesKey, name), nil)
  end
else
  return redis.error_reply('ERR clock shard pause: unknown action ' .. tostring(action))
end
return result
