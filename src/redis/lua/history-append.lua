--[[
  Appends fire records to the history of several schedules, each capped at `size` records, in one
  step per batch (the leader's history recorder sends one call per few hundred schedules, pipelined).
  Layout and record format: src/history/store.ts.

  KEYS[2i-1]  history:<schedule>   list of records, newest first
  KEYS[2i]    outcomes:<schedule>  hash: job id -> "<startedAt>|<finishedAt>|<result>|<error class>"

  ARGV[1]     size: records kept per schedule (>= 1)
  then per schedule i, in KEYS order:
  ARGV        n, then n records, oldest first ("<slotAt>|<enqueuedAt>|<kind>|<jobId>")

  Returns     the number of records dropped past the cap
]]
local size = tonumber(ARGV[1])
-- Check-ins for jobs no longer in the list (run after their record was trimmed, or checked in just
-- before it was written) are swept only past this many extra fields: HLEN is O(1), the sweep O(size).
local slack = math.floor(size / 10) + 8
local jobIdOf = function(record) return string.match(record, '^[^|]*|[^|]*|[^|]*|(.*)$') end

local at = 2
local dropped = 0
for i = 1, #KEYS, 2 do
  local list = KEYS[i]
  local outcomes = KEYS[i + 1]
  local n = tonumber(ARGV[at])
  at = at + 1
  for j = at, at + n - 1 do redis.call('LPUSH', list, ARGV[j]) end
  at = at + n
  local evicted = redis.call('LRANGE', list, size, -1)
  if #evicted > 0 then
    redis.call('LTRIM', list, 0, size - 1)
    dropped = dropped + #evicted
    for _, record in ipairs(evicted) do
      local jobId = jobIdOf(record)
      if jobId then redis.call('HDEL', outcomes, jobId) end
    end
  end
  if redis.call('HLEN', outcomes) > size + slack then
    local kept = {}
    for _, record in ipairs(redis.call('LRANGE', list, 0, -1)) do
      local jobId = jobIdOf(record)
      if jobId then kept[jobId] = true end
    end
    for _, jobId in ipairs(redis.call('HKEYS', outcomes)) do
      if not kept[jobId] then redis.call('HDEL', outcomes, jobId) end
    end
  end
end
return dropped
