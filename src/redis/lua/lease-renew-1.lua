--[[
  Renews the lease if the caller still holds it (compare the token, then extend: never GET then EXPIRE).
  KEYS[1] lease   ARGV[1] token   ARGV[2] ttl ms
  Returns 1 renewed, 0 not the holder
]]
-- A lease key of another type holds no token: not the holder (the acquire script moves it aside).
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
