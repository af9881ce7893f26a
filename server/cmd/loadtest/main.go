// Command loadtest measures Latchkey's passkey ceremonies per second.
//
// It signs up -users virtual users, each a browser of its own (a cookie jar
// and a software authenticator with one passkey), then runs closed-loop
// ceremonies at each concurrency level for -d: every worker starts its next
// ceremony (begin, the authenticator signs, finish) as soon as the last
// ended. It prints one table: per level the ceremonies per second, the 50th,
// 90th and 99th percentile of a whole ceremony, the failed ones by request
// and cause (HTTP status and error code), and, for the processes it is told
// of, their CPU time per ceremony.
//
//	loadtest -url http://localhost:8080 -pid $(pidof latchkey)
//	loadtest -local            # what `make loadtest` runs
//
// -url may name any Latchkey, but the run creates accounts there and sends it
// as many requests as it can answer: point it only at a server of your own,
// with rate limits off (RATE_LIMITS=off) or raised, or most ceremonies fail
// with 429. -local starts its own servers on 127.0.0.1 instead (see local.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	url        string
	users      int
	levels     []int
	duration   time.Duration
	modes      []string
	signupConc int
	pid        int
	pgPID      int
	redisPID   int
	findPIDs   bool
	timeout    time.Duration
	cpuProfile string
	local      localOptions
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	var rows []row
	if o.local.on {
		rows, err = runLocal(ctx, o, os.Stderr)
	} else {
		rows, err = runRemote(ctx, o)
	}
	if len(rows) > 0 {
		if werr := writeTable(os.Stdout, rows); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: loadtest [flags]

Measures passkey ceremonies per second against a Latchkey: signs up -users
users, then runs closed-loop ceremonies at each concurrency level for -d.

-url may be any Latchkey, but the run creates accounts there and sends as
many requests as it answers: aim it only at a server of your own, on this
machine (-pid reads its CPU from /proc), with RATE_LIMITS=off or the limits
raised. -local (make loadtest) starts its own servers on 127.0.0.1.

`)
		fs.PrintDefaults()
	}
	o := &options{}
	var levels, modes string
	fs.StringVar(&o.url, "url", "http://localhost:8080", "the Latchkey to test (its PUBLIC_URL: the authenticator claims its origin and host name)")
	fs.IntVar(&o.users, "users", 200, "users to sign up before the logins, each with its own cookie jar and passkey")
	fs.StringVar(&levels, "c", "1,8,32", "concurrency levels, comma-separated")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "duration of each level")
	fs.StringVar(&modes, "mode", "byname,discoverable,signup", "ceremonies, comma-separated: byname, discoverable, signup; login means byname,discoverable")
	fs.IntVar(&o.signupConc, "signup-c", 8, "concurrency of the sign-ups before the logins")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, to report its CPU per ceremony (from /proc)")
	fs.IntVar(&o.pgPID, "pg-pid", 0, "Postgres's postmaster process id, to report its CPU (and its backends') per ceremony")
	fs.IntVar(&o.redisPID, "redis-pid", 0, "redis-server's process id, to report its CPU per ceremony")
	fs.BoolVar(&o.findPIDs, "find-pids", false, "find Postgres (postgres) and Redis (redis-server) on this machine by name, for -pg-pid and -redis-pid")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "the most the whole run may take")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	o.local.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("-c: %q is not a concurrency from 1 to 1024", f)
		}
		o.levels = append(o.levels, n)
	}
	for _, m := range strings.Split(modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case ModeByName, ModeDiscoverable, ModeSignup:
			o.modes = append(o.modes, m)
		case "login":
			o.modes = append(o.modes, ModeByName, ModeDiscoverable)
		default:
			return nil, fmt.Errorf("-mode: %q is not byname, discoverable, signup or login", m)
		}
	}
	if o.users < 1 || o.users > 100_000 {
		return nil, fmt.Errorf("-users must be from 1 to 100000, got %d", o.users)
	}
	if o.duration <= 0 || o.duration > 10*time.Minute {
		return nil, fmt.Errorf("-d must be positive and at most 10m, got %s", o.duration)
	}
	if o.signupConc < 1 {
		return nil, fmt.Errorf("-signup-c must be at least 1")
	}
	if o.findPIDs {
		if o.pgPID == 0 {
			o.pgPID = findProcess("postgres")
		}
		if o.redisPID == 0 {
			o.redisPID = findProcess("redis-server")
		}
	}
	return o, nil
}

// storeProcesses are the Postgres and Redis processes to watch, as given.
func (o *options) storeProcesses() []*process {
	var ps []*process
	if o.pgPID > 0 {
		ps = append(ps, &process{label: "postgres", pid: o.pgPID})
	}
	if o.redisPID > 0 {
		ps = append(ps, &process{label: "redis", pid: o.redisPID})
	}
	return ps
}

// runRemote measures the server at -url.
func runRemote(ctx context.Context, o *options) ([]row, error) {
	var watch []*process
	if o.pid > 0 {
		watch = append(watch, &process{label: "server", pid: o.pid})
	}
	watch = append(watch, o.storeProcesses()...)
	return measure(ctx, o, subject{url: o.url, deployment: o.url, watch: watch}, os.Stderr)
}

// subject is what one measurement runs against.
type subject struct {
	url        string
	deployment string // the table's name for it
	limits     string // "off", "high", or "" when unknown
	watch      []*process
	// mails, when known, counts the emails the server has sent so far.
	mails func() int
}

// measure signs up the users at url, then runs every mode at every level
// and returns a row for each.
func measure(ctx context.Context, o *options, sub subject, progress io.Writer) ([]row, error) {
	label := sub.deployment
	if sub.limits != "" {
		label += ", rate limits " + sub.limits
	}
	// The generator shares the machine with what it measures: its own CPU
	// says how much of it the run took.
	watch := append(slices.Clip(sub.watch), &process{"loadtest", os.Getpid(), true})
	t, err := newTarget(sub.url, max(slices.Max(o.levels), o.signupConc))
	if err != nil {
		return nil, err
	}
	defer t.transport.CloseIdleConnections()
	users := max(o.users, slices.Max(o.levels))
	fmt.Fprintf(progress, "%s: signing up %d users\n", label, users)
	vusers, err := t.signupUsers(ctx, users, o.signupConc)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, mode := range o.modes {
		for _, c := range o.levels {
			fmt.Fprintf(progress, "%s: %s at %d for %s\n", label, modeNames[mode], c, o.duration)
			// A pause, so the last level's stragglers (mail sent after
			// the answer, say) do not count in this one.
			time.Sleep(250 * time.Millisecond)
			mails := -1
			if sub.mails != nil {
				mails = sub.mails()
			}
			l, err := t.runLevel(ctx, mode, c, o.duration, vusers, watch)
			if l != nil {
				r := row{deployment: sub.deployment, limits: sub.limits, level: l, mails: -1}
				if sub.mails != nil {
					r.mails = sub.mails() - mails
				}
				rows = append(rows, r)
			}
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}
