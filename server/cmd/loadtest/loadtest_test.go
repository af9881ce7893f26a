package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/boot"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/shared"
)

// counting wraps a server: it counts the ceremonies' finishes it answered
// 2xx, and answers every fifth login finish itself with 503 unavailable,
// so the generator has failures to count.
type counting struct {
	next http.Handler

	mu       sync.Mutex
	finished map[string]int // path -> finishes answered 2xx
	logins   int
	injected int
}

// countingWriter counts a finish when its status is written, before any
// byte reaches the client: counted after the handler returned, the client
// could see the answer, and the test read the count, before it moved.
type countingWriter struct {
	http.ResponseWriter
	wrote bool
	count func(status int)
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.count(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == shared.APILoginFinish {
		c.mu.Lock()
		c.logins++
		inject := c.logins%5 == 0
		if inject {
			c.injected++
		}
		c.mu.Unlock()
		if inject {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"unavailable","message":"Injected by the test."}}`)
			return
		}
	}
	c.next.ServeHTTP(&countingWriter{ResponseWriter: w, count: func(status int) {
		if strings.HasSuffix(r.URL.Path, "/finish") && status >= 200 && status < 300 {
			c.mu.Lock()
			c.finished[r.URL.Path]++
			c.mu.Unlock()
		}
	}}, r)
}

// counts returns the finishes of each path answered 2xx and the failures
// injected so far.
func (c *counting) counts() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.finished), c.injected
}

// start runs an embedded Latchkey in this process on a free localhost port.
func start(t *testing.T) (string, *counting) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env := map[string]string{"PUBLIC_URL": origin, "DATA_DIR": t.TempDir(), "WEB_DIR": web, "RATE_LIMITS": "off"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	in, err := boot.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	c := &counting{next: in.Handler, finished: map[string]int{}}
	srv := httptest.NewUnstartedServer(c)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return origin, c
}

// The generator's counts are the server's: every ceremony it reports as
// done is a finish the server answered 2xx, every failure is counted under
// its request and cause, and the server's CPU is read.
func TestTheReportCountsWhatTheServerAnswered(t *testing.T) {
	url, server := start(t)
	tg, err := newTarget(url, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	users, err := tg.signupUsers(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if finished, _ := server.counts(); finished[shared.APISignupFinish] != 3 {
		t.Fatalf("the server saw %d sign-ups, want 3", finished[shared.APISignupFinish])
	}
	// The test process is the server's.
	watch := []*process{{label: "server", pid: os.Getpid()}}
	var rows []row
	for _, mode := range []string{ModeByName, ModeDiscoverable, ModeSignup} {
		before, injectedBefore := server.counts()
		l, err := tg.runLevel(ctx, mode, 2, 400*time.Millisecond, users, watch)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row{deployment: "test", limits: "off", level: l, mails: -1})
		if l.ok == 0 || len(l.latencies) != l.ok {
			t.Errorf("%s: %d ceremonies done with %d latencies", mode, l.ok, len(l.latencies))
		}
		after, injected := server.counts()
		path, wantErrors := shared.APISignupFinish, map[string]int{}
		if mode != ModeSignup {
			path = shared.APILoginFinish
			if n := injected - injectedBefore; n > 0 {
				wantErrors["login/finish HTTP 503 unavailable"] = n
			}
		}
		done := after[path] - before[path]
		if l.ok != done {
			t.Errorf("%s: the report has %d ceremonies done, the server finished %d", mode, l.ok, done)
		}
		if fmt.Sprint(l.errors) != fmt.Sprint(wantErrors) {
			t.Errorf("%s: errors %v, want %v", mode, l.errors, wantErrors)
		}
		if haveProc(t) && (len(l.cpu) != 1 || l.cpu[0].err != nil || l.cpu[0].seconds <= 0) {
			t.Errorf("%s: server CPU %+v, want some", mode, l.cpu)
		}
	}
	var out bytes.Buffer
	if err := writeTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, r := range rows {
		cells := fmt.Sprintf("| %s | %d |", modeNames[r.mode], r.concurrency)
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), cells) || !strings.Contains(out.String(), r.errorText()) {
			t.Errorf("the table has no row for %s with errors %q:\n%s", r.mode, r.errorText(), out.String())
		}
	}
}

// A command name may hold spaces and parentheses; the fields after it are
// counted from the last parenthesis.
func TestParseStat(t *testing.T) {
	line := "4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 30 12 20 0 8 0 100 0 0"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{comm: "odd) name", ppid: 17, ticks: 325, childrenTicks: 42}
	if st != want {
		t.Errorf("parseStat = %+v, want %+v", st, want)
	}
	if _, err := parseStat([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("a short line parsed")
	}
}

// A process tree's CPU includes its children's, which is where Postgres
// does its work; a process read alone leaves them out.
func TestCPUOfAProcessTreeCountsItsChildren(t *testing.T) {
	if !haveProc(t) {
		t.Skip("no /proc: CPU is read on Linux only")
	}
	self := []*process{{label: "tree", pid: os.Getpid()}, {label: "alone", pid: os.Getpid(), alone: true}}
	before := readCPU(self)
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	used := cpuSince(self, before, readCPU(self))
	child := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if child < 0.1 {
		t.Fatalf("the child used only %.2fs; make it work longer", child)
	}
	// Ticks are 10 ms; allow two of rounding.
	if used[0].err != nil || used[0].seconds < child-0.02 {
		t.Errorf("the tree used %.2fs (%v), less than its child's %.2fs", used[0].seconds, used[0].err, child)
	}
	if used[1].err != nil || used[1].seconds > child/2 {
		t.Errorf("the process alone used %.2fs (%v), counting its child's %.2fs", used[1].seconds, used[1].err, child)
	}
}

// The mail counter reads what the log gained since it last looked, whole
// lines only.
func TestMailCounter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &mailCounter{path: path}
	for _, step := range []struct {
		write string
		want  int
	}{
		{"level=INFO msg=\"email not sent (no SMTP_URL): development mode\" to=a\nlevel=INFO msg=http\n", 1},
		{"level=INFO msg=http\nlevel=INFO msg=\"email not sent (no SMTP_URL): devel", 1},
		{"opment mode\" to=b\nlevel=INFO msg=\"email not sent (no SMTP_URL): development mode\"\n", 3},
		{"", 3},
	} {
		f.WriteString(step.write)
		if got := m.count(); got != step.want {
			t.Errorf("after %q: %d mails, want %d", step.write, got, step.want)
		}
	}
}

// haveProc reports whether this system has Linux's /proc, where the CPU
// columns come from.
func haveProc(t *testing.T) bool {
	_, err := os.Stat("/proc/self/stat")
	if err != nil {
		t.Logf("no CPU columns here: %v", err)
	}
	return err == nil
}
