"""The Redis limits backend: `RedisLimits` (backend.py), the pipelined RESP connection its hot
path uses (resp_client.py), and the Lua scripts that decide every request in one round trip
(scripts.py, lua/*.lua)."""
