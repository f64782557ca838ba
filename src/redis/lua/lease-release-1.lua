--[[
  Releases the lease if the caller holds it and tells standbys at once.
  KEYS[1] lease   ARGV[1] token   ARGV[2] channel to publish the release on
  Returns 1 released, 0 not the holder
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
