package teststores

import (
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/store/redisstore"
)

// UnreachableRedis returns a Redis store whose server is gone: its address
// was a free port, closed again, so every call fails with a refused
// connection, quickly and without retries.
func UnreachableRedis(t testing.TB) *redisstore.Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return redisstore.New(c, "unreachable:")
}
