-- wrk script for scenario (c): every request is a POST with a 1 KiB body (wrk adds its
-- Content-Length); the report comes from report.lua.
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
dofile((os.getenv("BENCH_LUA_DIR") or ".") .. "/report.lua")
