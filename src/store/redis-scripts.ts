/**
 * The Lua scripts of the Redis store: each runs atomically on the server, in one round trip.
 * Internal to store/ (redis-store.ts, redis-connection.ts).
 */
import type { Cluster, Redis } from 'ioredis';

// DEL only while the key holds ARGV[1] (releasing a lock that is still ours).
const DELETE_IF_EQUALS_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Raises an integer to ARGV[1] (a greater one stays) and makes the key live at least ARGV[2] ms.
// Only a whole number (as INCRBY writes it) is raised from: anything else is overwritten, as the
// memory store does. The value kept is answered as stored (Lua would round it to 14 digits).
const RAISE_TO_SCRIPT = `
local held = redis.call('GET', KEYS[1])
local want = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
if not held or not string.match(held, '^%-?%d+$') or tonumber(held) < want then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  return ARGV[1]
end
local left = redis.call('PTTL', KEYS[1])
if left >= 0 and left < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return held`;

// INCRBY that sets the TTL only when it creates the counter (as the memory store does).
const INCR_SCRIPT = `
local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

// Redis's clock in ms, for the scores of expiring indexes: one clock for every replica, and the one
// that PEXPIRE counts by.
const LUA_NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

// Lua: adds members[first..last] to an expiring index, a sorted set scored by each member's expiry
// (ms). GT keeps the later expiry of a member added again; members already expired are removed
// (O(log n) plus what is removed), so the index holds what is live; the key itself expires with
// its last member. ZADD is called a thousand members at a time: unpack() fails past a few
// thousand values (the bound of Lua's stack).
const LUA_INDEX_ADD = `${LUA_NOW}
local function index_add(key, ttl, members, first, last)
  if last < first then return end
  local now = now_ms()
  for from = first, last, 1000 do
    local args = {}
    for i = from, math.min(from + 999, last) do
      args[#args + 1] = now + ttl
      args[#args + 1] = members[i]
    end
    redis.call('ZADD', key, 'GT', unpack(args))
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end`;

const INDEX_ADD_SCRIPT = `${LUA_INDEX_ADD}
index_add(KEYS[1], tonumber(ARGV[1]), ARGV, 2, #ARGV)
return 1`;

// The members that have not expired, by Redis's clock.
const INDEX_MEMBERS_SCRIPT = `${LUA_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now_ms(), '+inf')`;

// A whole batch in one command, the ops in order: KEYS[i] is op i's key; ARGV holds, per op,
// 's' value ttl mode (SET; ttl 0 = none, mode '' | 'NX' | 'XX'), 'd' (DEL), or 'a' ttl n
// member… (index_add, as INDEX_ADD_SCRIPT). Answers 1/0 per op (SET applied / DEL removed / 1 for an add).
// A script runs atomically, as MULTI/EXEC did, at a seventh of the commands: a login's issue
// (five ops) was MULTI, five commands and EXEC, and ioredis spends its CPU per command.
const BATCH_SCRIPT = `${LUA_INDEX_ADD}
local out = {}
local a = 1
for i = 1, #KEYS do
  local key = KEYS[i]
  local op = ARGV[a]
  if op == 's' then
    local ttl = tonumber(ARGV[a + 2])
    local mode = ARGV[a + 3]
    local r
    if ttl > 0 and mode ~= '' then r = redis.call('SET', key, ARGV[a + 1], 'PX', ttl, mode)
    elseif ttl > 0 then r = redis.call('SET', key, ARGV[a + 1], 'PX', ttl)
    elseif mode ~= '' then r = redis.call('SET', key, ARGV[a + 1], mode)
    else r = redis.call('SET', key, ARGV[a + 1]) end
    out[i] = r and 1 or 0
    a = a + 4
  elseif op == 'd' then
    out[i] = redis.call('DEL', key)
    a = a + 1
  else
    local n = tonumber(ARGV[a + 2])
    index_add(key, tonumber(ARGV[a + 1]), ARGV, a + 3, a + 2 + n)
    out[i] = 1
    a = a + 3 + n
  end
end
return out`;

/** The scripts as commands of a client, once {@link defineScripts} has defined them. */
type ScriptCommands = {
  agBatch(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
  agIncrBy(key: string, delta: number, ttlMs: number): Promise<number>;
  agDeleteIfEquals(key: string, value: string): Promise<number>;
  agRaiseTo(key: string, value: number, ttlMs: number): Promise<string>;
  agIndexAdd(key: string, ttlMs: number, ...members: string[]): Promise<number>;
  agIndexMembers(key: string): Promise<string[]>;
};
export type Client = (Redis | Cluster) & ScriptCommands;

/** Defines authgate's scripts on `client` (ioredis loads each by its SHA, once per connection). */
export const defineScripts = (client: Redis | Cluster): Client => {
  client.defineCommand('agIncrBy', { numberOfKeys: 1, lua: INCR_SCRIPT });
  client.defineCommand('agDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS_SCRIPT });
  client.defineCommand('agRaiseTo', { numberOfKeys: 1, lua: RAISE_TO_SCRIPT });
  client.defineCommand('agIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD_SCRIPT });
  client.defineCommand('agIndexMembers', { numberOfKeys: 1, lua: INDEX_MEMBERS_SCRIPT });
  // No fixed key count: each call passes its own.
  client.defineCommand('agBatch', { lua: BATCH_SCRIPT });
  return client as Client;
};
