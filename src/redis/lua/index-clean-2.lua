--[[
  Drops names from a shard's index of dynamic schedules whose entries are gone (removed by hand,
  or by a writer that kept no index), in one atomic step per name: a name whose entry exists again
  (written after the caller's read) stays.

  KEYS[1]  schedules  hash: name -> stored entry
  KEYS[2]  index      set: the names of one shard's dynamic schedules

  ARGV     the names the caller found without an entry

  Returns  how many names were dropped
]]
local dropped = 0
for _, name in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], name) == 0 then
    dropped = dropped + redis.call('SREM', KEYS[2], name)
  end
end
return dropped
