package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/latchkey/latchkey/server/auth"
)

// localOptions configure -local: servers started here, on 127.0.0.1 only,
// one per deployment and rate-limit setting, each on fresh storage.
type localOptions struct {
	on          bool
	server      string
	webDir      string
	logLevel    string
	pgURL       string
	redisURL    string
	deployments string
	limits      string
	env         envFlag
}

// envFlag collects -server-env NAME=VALUE settings.
type envFlag map[string]string

func (e envFlag) String() string { return fmt.Sprint(map[string]string(e)) }

func (e envFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	e[name] = value
	return nil
}

func (l *localOptions) flags(fs *flag.FlagSet) {
	fs.BoolVar(&l.on, "local", false, "start Latchkey here on 127.0.0.1 for each deployment and rate-limit setting, instead of testing -url")
	fs.StringVar(&l.server, "server", "", "with -local: the latchkey binary to start (default: go build ./server/cmd/latchkey into a temporary directory)")
	fs.StringVar(&l.webDir, "web", "", "with -local: the servers' WEB_DIR (default: a stand-in app.wasm in a temporary directory, since no page is loaded)")
	fs.StringVar(&l.logLevel, "server-log-level", "info", "with -local: the servers' LOG_LEVEL (their logs go to a temporary file)")
	fs.StringVar(&l.pgURL, "pg-url", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"with -local: the Postgres to make a throwaway schema in ($TEST_DATABASE_URL when set, as for the tests)")
	fs.StringVar(&l.redisURL, "redis-url", envOr("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		"with -local: the Redis to use under a throwaway key prefix ($TEST_REDIS_URL when set, as for the tests)")
	fs.StringVar(&l.deployments, "deployments", "embedded,postgres", "with -local: embedded (SQLite + in-process) and/or postgres (Postgres + Redis, skipped when unreachable)")
	l.env = envFlag{}
	fs.Var(l.env, "server-env", "with -local: NAME=VALUE to add to the servers' configuration, e.g. DATABASE_MAX_CONNS=8 (repeatable)")
	fs.StringVar(&l.limits, "limits", "off,high", "with -local: rate limits off (RATE_LIMITS=off) and/or high (every RATE_LIMIT_* at 1000000/1s)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runLocal measures each deployment with each rate-limit setting, on a
// server of its own started here.
func runLocal(ctx context.Context, o *options, progress io.Writer) ([]row, error) {
	tmp, err := os.MkdirTemp("", "latchkey-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := o.local.server
	if bin == "" {
		bin = filepath.Join(tmp, "latchkey")
		fmt.Fprintln(progress, "building ./server/cmd/latchkey")
		// As `make build` builds it.
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./server/cmd/latchkey")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./server/cmd/latchkey (run from the repository's root): %v\n%s", err, out)
		}
	}
	web := o.local.webDir
	if web == "" {
		// The server only serves the wasm; any bytes do.
		web = filepath.Join(tmp, "web")
		if err := os.Mkdir(web, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o600); err != nil {
			return nil, err
		}
	} else if web, err = filepath.Abs(web); err != nil {
		return nil, err
	}

	var rows []row
	for _, dep := range strings.Split(o.local.deployments, ",") {
		var stores storesFunc
		switch dep = strings.TrimSpace(dep); dep {
		case "embedded":
			stores = embedded
		case "postgres":
			if err := reachable(ctx, o.local.pgURL, o.local.redisURL); err != nil {
				fmt.Fprintf(progress, "Postgres + Redis: skipped: %v\n", err)
				continue
			}
			stores = postgresRedis(o.local.pgURL, o.local.redisURL)
		default:
			return rows, fmt.Errorf("-deployments: %q is not embedded or postgres", dep)
		}
		for _, limits := range strings.Split(o.local.limits, ",") {
			limits = strings.TrimSpace(limits)
			if limits != "off" && limits != "high" {
				return rows, fmt.Errorf("-limits: %q is not off or high", limits)
			}
			r, err := runOne(ctx, o, bin, web, tmp, stores, limits, progress)
			rows = append(rows, r...)
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}

// storesFunc prepares fresh storage for one server: its environment, the
// store processes to watch, and what removes the storage afterwards.
type storesFunc func(ctx context.Context, dir string) (name string, env map[string]string, watch []*process, cleanup func(), err error)

func embedded(ctx context.Context, dir string) (string, map[string]string, []*process, func(), error) {
	return "SQLite + in-process", map[string]string{"DATA_DIR": dir}, nil, func() {}, nil
}

func reachable(ctx context.Context, pgURL, redisURL string) (err error) {
	defer func() {
		// pgdriver panics on a DSN it cannot use (an unknown sslmode, say).
		if r := recover(); r != nil {
			err = fmt.Errorf("-pg-url: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pgURL)))
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("cannot reach Postgres: %w", err)
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("-redis-url: %w", err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis: %w", err)
	}
	return nil
}

// postgresRedis gives each server a new schema and a new key prefix, and
// removes both afterwards. Postgres and Redis are the machine's, so their
// CPU includes whatever else uses them meanwhile.
func postgresRedis(pgURL, redisURL string) storesFunc {
	return func(ctx context.Context, dir string) (string, map[string]string, []*process, func(), error) {
		id := randomHex(6)
		schema := "loadtest_" + id
		db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pgURL)))
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			db.Close()
			return "", nil, nil, nil, fmt.Errorf("create schema: %w", err)
		}
		u, err := url.Parse(pgURL)
		if err != nil {
			db.Close()
			return "", nil, nil, nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		prefix := "latchkey-loadtest:" + id + ":"
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			db.Close()
			return "", nil, nil, nil, err
		}
		rc := redis.NewClient(opts)
		cleanup := func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				fmt.Fprintf(os.Stderr, "loadtest: drop schema %s: %v\n", schema, err)
			}
			db.Close()
			iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				rc.Del(ctx, iter.Val())
			}
			rc.Close()
		}
		var watch []*process
		if pid := findProcess("postgres"); pid > 0 {
			watch = append(watch, &process{label: "postgres", pid: pid})
		}
		if pid := findProcess("redis-server"); pid > 0 {
			watch = append(watch, &process{label: "redis", pid: pid})
		}
		env := map[string]string{"DATABASE_URL": u.String(), "REDIS_URL": redisURL, "REDIS_PREFIX": prefix, "DATA_DIR": dir}
		return "Postgres + Redis", env, watch, cleanup, nil
	}
}

// runOne starts a server on fresh storage with the given rate limits,
// measures it and stops it.
func runOne(ctx context.Context, o *options, bin, web, tmp string, stores storesFunc, limits string, progress io.Writer) ([]row, error) {
	dir, err := os.MkdirTemp(tmp, "data-")
	if err != nil {
		return nil, err
	}
	name, env, watch, cleanup, err := stores(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	env["WEB_DIR"] = web
	env["LOG_LEVEL"] = o.local.logLevel
	maps.Copy(env, o.local.env)
	if limits == "off" {
		env["RATE_LIMITS"] = "off"
	} else {
		// Every limit the server has, however many there are by now.
		for limit := range auth.DefaultLimits() {
			env["RATE_LIMIT_"+limit] = "1000000/1s"
		}
	}
	srv, err := startServer(ctx, bin, env, filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	watch = append([]*process{{label: "server", pid: srv.cmd.Process.Pid}}, watch...)
	sub := subject{url: srv.url, deployment: name, limits: limits, watch: watch}
	if o.local.logLevel == "info" || o.local.logLevel == "debug" {
		sub.mails = (&mailCounter{path: srv.log}).count
	}
	rows, err := measure(ctx, o, sub, progress)
	if err != nil {
		err = fmt.Errorf("%s, rate limits %s: %w\n%s", name, limits, err, srv.logTail())
	}
	return rows, err
}

type server struct {
	cmd    *exec.Cmd
	url    string
	log    string
	exited chan struct{}
}

// startServer runs bin on a free loopback port with env and nothing else
// of this process's environment (a developer's DATABASE_URL must not leak
// in), and waits until it is ready.
func startServer(ctx context.Context, bin string, env map[string]string, logFile string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	vars := maps.Clone(env)
	vars["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	// WebAuthn refuses an IP address as the relying party id.
	vars["PUBLIC_URL"] = fmt.Sprintf("http://localhost:%d", port)
	vars["PATH"] = os.Getenv("PATH")
	logf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, url: vars["PUBLIC_URL"], log: logFile, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()

	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("the server stopped before it was ready\n%s", s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the server was not ready within a minute\n%s", s.logTail())
		}
	}
}

// stop asks the server to drain and stop, and kills it if it has not
// within 20 seconds.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// logTail is the end of the server's log, for an error message.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "server log (last lines):\n" + string(bytes.Join(lines, []byte("\n")))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// mailCounter counts the emails a server without SMTP_URL wrote to its log
// (at info level), reading only what was added since it last looked.
type mailCounter struct {
	path   string
	offset int64
	n      int
}

// mailLine is how package mail's development mailer logs an email.
var mailLine = []byte("email not sent (no SMTP_URL)")

func (m *mailCounter) count() int {
	f, err := os.Open(m.path)
	if err != nil {
		return m.n
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, m.offset, 1<<62))
	if err != nil {
		return m.n
	}
	// Whole lines only: the server may be writing the last one.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	m.offset += int64(len(b))
	m.n += bytes.Count(b, mailLine)
	return m.n
}
