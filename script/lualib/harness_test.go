package lualib

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	lua "github.com/yuin/gopher-lua"
)

// luaPrelude defines ser(), a canonical serialiser that both interpreters
// run the same way: table keys are sorted, strings are printed with \xNN
// escapes and numbers with %.17g, so outputs can be compared byte for byte
// even though table iteration orders differ.
const luaPrelude = `
local function esc(s)
  -- built in small pieces: huge tables would make gopher-lua's table.concat
  -- grow its registry slot by slot
  local chunks = {}
  for base = 1, #s, 256 do
    local out = {}
    for i = base, math.min(base + 255, #s) do
      local b = s:byte(i)
      if b >= 32 and b < 127 and b ~= 92 then out[#out+1] = string.char(b)
      else out[#out+1] = string.format('\\x%02x', b) end
    end
    chunks[#chunks+1] = table.concat(out)
  end
  return table.concat(chunks)
end
local ser
ser = function(v)
  local t = type(v)
  if t == 'nil' then return 'nil'
  elseif t == 'boolean' then return tostring(v)
  elseif t == 'number' then
    if v ~= v then return 'nan'
    elseif v == 1/0 then return 'inf'
    elseif v == -1/0 then return '-inf'
    elseif v == 0 and 1/v < 0 then return '-0'
    else return string.format('%.17g', v) end
  elseif t == 'string' then return '"' .. esc(v) .. '"'
  elseif t == 'table' then
    local keys = {}
    for k, _ in pairs(v) do keys[#keys+1] = {ser(k), k} end
    table.sort(keys, function(a, b) return a[1] < b[1] end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts+1] = k[1] .. '=' .. ser(v[k[2]]) end
    return '{' .. table.concat(parts, ',') .. '}'
  elseif v == cjson.null then return 'null'
  else return t end
end
local function serall(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[#parts+1] = ser((select(i, ...))) end
  return table.concat(parts, ' | ')
end
local function hex(s)
  return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))
end
`

// wrapCase turns a chunk body into a script returning one string: "ok" or
// "err" followed by the serialised results.
func wrapCase(body string) string {
	return luaPrelude + "\nlocal res = {pcall(function()\n" + body + "\nend)}\n" +
		"local n = table.maxn(res)\nif res[1] then return 'ok ' .. serall(unpack(res, 2, n)) end\n" +
		"return 'err ' .. tostring(res[2])\n"
}

// runGo runs a script in a fresh gopher-lua state with the libraries open.
func runGo(script string) (string, error) {
	// Deep results (thousands of values or nesting levels, which Redis's C
	// Lua allows) need more room than gopher-lua's defaults.
	L := lua.NewState(lua.Options{CallStackSize: 20000, RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 1024, RegistryGrowStep: 4096})
	defer L.Close()
	Open(L)
	// Redis names its chunk user_script; error positions then read alike.
	fn, err := L.Load(strings.NewReader(script), "user_script")
	if err != nil {
		return "", err
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return "", err
	}
	return L.ToString(-1), nil
}

const redisServerPath = "/usr/bin/redis-server"

// startRedis starts a private redis-server on a free loopback port and
// waits (with a deadline) until it answers PING.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	if _, err := os.Stat(redisServerPath); err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(redisServerPath, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
		"--lua-time-limit", "60000")
	// Kill the server with the test binary even if it dies without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout = nil
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return client
		}
		select {
		case e := <-exited:
			t.Fatalf("redis-server exited: %v", e)
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer: %v", err)
		}
	}
}

// runRedis runs the same script with EVAL.
func runRedis(client *redis.Client, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := client.Eval(ctx, script, nil).Result()
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("non-string reply %T %v", v, v)
	}
	return s, nil
}
