package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the times in /proc/PID/stat: Linux reports them in
// USER_HZ, which its ABI fixes at 100 whatever the kernel's own tick rate.
const userHZ = 100

// process is one process on this machine whose CPU a level reports: its
// own time and its threads', and its children's, living or reaped (Postgres
// serves each connection from a child process).
type process struct {
	label string // "server", "postgres", "redis", "loadtest"
	pid   int
	// alone counts the process without its children: the load generator
	// itself, whose children are the servers it started.
	alone bool
}

// cpuUse is the CPU time a process used during one level.
type cpuUse struct {
	label   string
	seconds float64
	err     error
}

// stat is what /proc/PID/stat says of a process.
type stat struct {
	comm          string
	ppid          int
	ticks         int64 // utime + stime
	childrenTicks int64 // cutime + cstime: children that ended and were waited for
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

// parseStat reads proc(5)'s stat line. The command name is in parentheses
// and may itself hold spaces and parentheses, so the fields are counted
// from the last ')'.
func parseStat(b []byte) (stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return stat{}, errors.New("malformed /proc stat line")
	}
	// Fields after the name, from field 3 (state) on.
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return stat{}, errors.New("short /proc stat line")
	}
	n := func(field int) int64 { v, _ := strconv.ParseInt(f[field-3], 10, 64); return v }
	return stat{
		comm:          string(b[open+1 : end]),
		ppid:          int(n(4)),
		ticks:         n(14) + n(15),
		childrenTicks: n(16) + n(17),
	}, nil
}

// treeTicks is the CPU time of pid and its children: the process's own,
// every reaped child's (cutime, cstime) and every living child's. A child
// that ends between two readings moves from the living to the reaped sum,
// so differences between readings stay right.
func treeTicks(pid int) (int64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := st.ticks + st.childrenTicks
	for _, child := range children(pid) {
		if cs, err := readStat(child); err == nil {
			total += cs.ticks + cs.childrenTicks
		}
	}
	return total, nil
}

// children lists the direct children of pid.
func children(pid int) []int {
	var out []int
	forEachProcess(func(p int, st stat) {
		if st.ppid == pid {
			out = append(out, p)
		}
	})
	return out
}

func forEachProcess(fn func(pid int, st stat)) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			fn(pid, st)
		}
	}
}

// findProcess finds the root of a process tree by its command name: the
// process called comm whose parent is not (Postgres's postmaster rather
// than one of its backends). It returns 0 when there is none.
func findProcess(comm string) int {
	byPID := map[int]stat{}
	forEachProcess(func(pid int, st stat) { byPID[pid] = st })
	for pid, st := range byPID {
		if st.comm == comm && byPID[st.ppid].comm != comm {
			return pid
		}
	}
	return 0
}

type reading struct {
	ticks []int64
	errs  []error
}

func readCPU(procs []*process) reading {
	r := reading{ticks: make([]int64, len(procs)), errs: make([]error, len(procs))}
	for i, p := range procs {
		if p.alone {
			var st stat
			st, r.errs[i] = readStat(p.pid)
			r.ticks[i] = st.ticks
			continue
		}
		r.ticks[i], r.errs[i] = treeTicks(p.pid)
	}
	return r
}

// cpuSince is what each of procs used between two readings.
func cpuSince(procs []*process, before, after reading) []cpuUse {
	out := make([]cpuUse, len(procs))
	for i, p := range procs {
		out[i] = cpuUse{
			label:   p.label,
			seconds: float64(after.ticks[i]-before.ticks[i]) / userHZ,
			err:     errors.Join(before.errs[i], after.errs[i]),
		}
	}
	return out
}
