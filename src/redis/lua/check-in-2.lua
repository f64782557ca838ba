--[[
  Records a worker's check-in for one job of one schedule, stamped with Redis time: the job
  started (a new attempt: any earlier finish is cleared), or finished with "succeeded" or
  "failed" (keeping the start). Layout: src/history/store.ts.

  KEYS[1]  history-size         string: the fires the leader keeps per schedule; when absent or 0
           (history off) nothing is written, so check-ins never grow keys no recorder caps
  KEYS[2]  outcomes:<schedule>  hash: job id -> "<startedAt>|<finishedAt>|<result>|<error class>"

  ARGV[1]  job id
  ARGV[2]  "started", "succeeded" or "failed"
  ARGV[3]  error class ("" for none; no "|")
  ARGV[4]  the instant, epoch ms; "" for Redis TIME

  Returns  1 recorded, 0 ignored (history is off)
]]
local jobId = ARGV[1]
local state = ARGV[2]
if (tonumber(redis.call('GET', KEYS[1])) or 0) <= 0 then return 0 end

local atMs
if ARGV[4] == '' then
  local time = redis.call('TIME')
  atMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  atMs = tonumber(ARGV[4])
end
local at = string.format('%d', atMs)

if state == 'started' then
  redis.call('HSET', KEYS[2], jobId, at .. '||started|')
elseif state == 'succeeded' or state == 'failed' then
  local old = redis.call('HGET', KEYS[2], jobId)
  local startedAt = old and string.match(old, '^([^|]*)|') or ''
  redis.call('HSET', KEYS[2], jobId, startedAt .. '|' .. at .. '|' .. state .. '|' .. ARGV[3])
else
  return redis.error_reply('ERR clock check-in: unknown state ' .. tostring(state))
end
return 1
