"""The Lua scripts of the Redis store: each runs atomically, in one round trip.

Every script touches only the keys it is given (KEYS), so each could run on one Redis Cluster
slot with a hash tag per chat or visitor (docs/redis.md).
"""

APPEND = """
local added = {}
local n = redis.call('LLEN', KEYS[1])
for i = 3, #ARGV, 3 do
  local key = ARGV[i + 1]
  if not (ARGV[i + 2] == '1' and redis.call('SISMEMBER', KEYS[2], key) == 1) then
    redis.call('SADD', KEYS[2], key)
    n = redis.call('RPUSH', KEYS[1], ARGV[i])
    table.insert(added, '[' .. n .. ',' .. ARGV[i] .. ']')
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
local owner = redis.call('GET', KEYS[3])
if #added > 0 and owner then
  redis.call('PUBLISH', 'wc:ch:' .. owner, '{"kind":"events","chat_id":' ..
    cjson.encode(ARGV[1]) .. ',"entries":[' .. table.concat(added, ',') .. ']}')
end
return added
"""

RENEW = """
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# A send claim: KEYS sent set, claim key, tried set; ARGV send id, holder, ttl ms, set ttl s.
# The claim key is taken with SET NX PX (or renewed by its holder); the tried set remembers
# that some claim may have posted the send, after the claim key itself has lapsed.
CLAIM_SEND = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'sent' end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 'busy' end
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local first = redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
if first == 1 then return 'new' end
return 'retry'
"""

# KEYS sent set, claim key, tried set; ARGV send id, holder, set ttl s.
COMPLETE_SEND = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS claim key, tried set; ARGV send id, holder, forget ('1' or '0').
RELEASE_SEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
"""


# KEYS epoch key; ARGV now in ms, ttl s. Above every earlier epoch, and above any forgotten one.
REVOKE = """
local epoch = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', epoch), 'EX', ARGV[2])
return epoch
"""
