--[[
  Redis TIME on the node that holds the clock's keys (on a Redis Cluster a keyless TIME goes to
  any node, whose clock may differ from the one the fire script reads).
  KEYS[1] any key of the clock's (the lease)
  Returns { seconds, microseconds }
]]
return redis.call('TIME')
