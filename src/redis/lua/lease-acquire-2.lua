--[[
  Acquires the lease if nobody holds it.
  KEYS[1] lease   KEYS[2] where a corrupt lease key goes (`<lease>:corrupt`)
  ARGV[1] token   ARGV[2] ttl ms
  Returns 1 acquired, 0 held by another process (the key holds its token), 2 acquired after moving
  aside a lease key of another type (a hash written by hand, a stray write): no clock's lease can be
  anything but a string, so nobody held it, and plain SET NX would answer "held" forever, with no
  process leading, silently. The key is renamed, not deleted: a person can still see what it held.
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'string' then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
