package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// row is one measured level of one deployment.
type row struct {
	deployment string // "SQLite + in-process", or the URL
	limits     string // "off", "high", or "" when unknown (a remote target)
	*level
	// mails is how many emails the server sent during the level, -1 when
	// unknown: every sign-up sends a welcome mail, a login should send none.
	mails int
}

var modeNames = map[string]string{
	ModeByName:       "login by name",
	ModeDiscoverable: "login discoverable",
	ModeSignup:       "sign-up",
}

// writeTable prints rows as one Markdown table, aligned so it also reads
// as plain text, with a CPU column for each process any row watched.
func writeTable(w io.Writer, rows []row) error {
	var procs []string
	for _, r := range rows {
		for _, c := range r.cpu {
			if !slices.Contains(procs, c.label) {
				procs = append(procs, c.label)
			}
		}
	}
	head := []string{"deployment", "rate limits", "ceremony", "c", "done", "per s", "p50", "p90", "p99"}
	for _, p := range procs {
		head = append(head, p+" CPU/cer.")
	}
	mails := slices.ContainsFunc(rows, func(r row) bool { return r.mails >= 0 })
	if mails {
		head = append(head, "mails")
	}
	head = append(head, "errors")
	cells := [][]string{head}
	for _, r := range rows {
		limits := r.limits
		if limits == "" {
			limits = "?"
		}
		line := []string{
			r.deployment, limits, modeNames[r.mode], fmt.Sprint(r.concurrency), fmt.Sprint(r.ok),
			fmt.Sprintf("%.0f", r.rate()),
			ms(r.percentile(0.50)), ms(r.percentile(0.90)), ms(r.percentile(0.99)),
		}
		for _, p := range procs {
			line = append(line, r.cpuPerCeremony(p))
		}
		if mails {
			line = append(line, "-")
			if r.mails >= 0 {
				line[len(line)-1] = fmt.Sprint(r.mails)
			}
		}
		cells = append(cells, append(line, r.errorText()))
	}
	return writeMarkdown(w, cells)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// cpuPerCeremony is the CPU the process used per finished ceremony, or
// "-" when it was not watched (or could not be read) during this level.
func (l *level) cpuPerCeremony(label string) string {
	for _, c := range l.cpu {
		if c.label != label {
			continue
		}
		if c.err != nil || l.ok == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f ms", c.seconds*1000/float64(l.ok))
	}
	return "-"
}

// errorText is the failed ceremonies, most frequent cause first:
// "12: login/finish HTTP 500 internal ×10, login/begin network ×2".
func (l *level) errorText() string {
	n := l.errorCount()
	if n == 0 {
		return "0"
	}
	causes := make([]string, 0, len(l.errors))
	for c := range l.errors {
		causes = append(causes, c)
	}
	slices.SortFunc(causes, func(a, b string) int {
		if l.errors[a] != l.errors[b] {
			return l.errors[b] - l.errors[a]
		}
		return strings.Compare(a, b)
	})
	for i, c := range causes {
		causes[i] = fmt.Sprintf("%s ×%d", c, l.errors[c])
	}
	return fmt.Sprintf("%d: %s", n, strings.Join(causes, ", "))
}

// writeMarkdown writes cells as a Markdown table with padded columns; the
// first row is the header. Numbers are right-aligned.
func writeMarkdown(w io.Writer, cells [][]string) error {
	widths := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	numeric := func(col int) bool {
		for _, r := range cells[1:] {
			c := strings.TrimSuffix(r[col], " ms")
			if c != "-" && strings.Trim(c, "0123456789.") != "" {
				return false
			}
		}
		return len(cells) > 1
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if numeric(i) {
				c = pad + c
			} else {
				c += pad
			}
			b.WriteString("| " + c + " ")
		}
		b.WriteString("|\n")
	}
	line(cells[0])
	for i, wd := range widths {
		sep := strings.Repeat("-", wd+2)
		if numeric(i) {
			sep = sep[:wd+1] + ":"
		}
		b.WriteString("|" + sep)
	}
	b.WriteString("|\n")
	for _, r := range cells[1:] {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
