--[[
  Removes a dynamic one-shot schedule that has fired, and counts the change, in one atomic step:
  only if its stored entry is still the one that fired (not replaced meanwhile) and the ledger holds
  its slot. Run by the leader after the fire succeeded; if it never runs (the clock died between the
  fire and this), the ledger already says the slot fired, so the entry fires nothing again and the
  next leader's sweep removes it.

  KEYS[1]  schedules  hash: name -> stored entry
  KEYS[2]  paused     set: names of paused schedules
  KEYS[3]  pauses     hash: name -> pause record
  KEYS[4]  changes    string: the change counter
  KEYS[5]  ledger     hash: name -> newest fired slot (epoch ms)
  KEYS[6]  index      set: the names of its shard's dynamic schedules (with shards; with one shard
                      the key is absent and SREM leaves it so)

  ARGV[1]  schedule name
  ARGV[2]  the stored entry as the clock decoded it
  ARGV[3]  the one-shot's slot, epoch ms; "" when the caller has read the ledger itself (with
           shards the ledger is in the shard's slot, which a script here may not touch on a
           cluster; the ledger never goes back, so a read before this is as good)

  Returns  the change counter after the removal, or 0 when nothing was removed
]]
local name = ARGV[1]
if redis.call('HGET', KEYS[1], name) ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' then
  local fired = tonumber(redis.call('HGET', KEYS[5], name))
  if fired == nil or fired < tonumber(ARGV[3]) then return 0 end
end
redis.call('HDEL', KEYS[1], name)
redis.call('SREM', KEYS[6], name)
redis.call('SREM', KEYS[2], name)
redis.call('HDEL', KEYS[3], name)
return redis.call('INCR', KEYS[4])
