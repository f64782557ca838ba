--[[
  Acquires the lease if nobody holds it.
  KEYS[1] lease   ARGV[1] token   ARGV[2] ttl ms
  Returns 1 acquired, 0 held by another process (the key holds its token)
  A lease key of another type (a hash written by hand, a corrupt key) is an error, WRONGTYPE: plain
  SET NX would answer "held" forever and no process would lead, silently. It is not taken over here:
  saying so is this script's job, and deleting a key nobody here wrote is a person's.
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'string' then
  return redis.error_reply('WRONGTYPE the lease key ' .. KEYS[1] .. ' holds a ' .. kind .. ', not a lease token: no clock can lead until it is deleted')
end
return 0
