package metrics_test

import (
	"database/sql"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/metrics"
	"github.com/latchkey/latchkey/shared"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// Whatever the edge passes, a label holds only a value from its fixed
// set: an unknown route is "other" and an unknown code "internal".
func TestLabelsStayInTheirFixedSets(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("GET /api/users/alice@example.com", "", time.Millisecond)
	m.ObserveRequest("", "no such code", time.Millisecond)
	m.ObserveRequest(shared.RouteLoginBegin.Pattern(), shared.CodeRateLimited, time.Millisecond)
	m.ObserveRequest(shared.OIDCToken, shared.CodeUnavailable, 3*time.Second)
	got := scrape(t, m)
	for _, want := range []string{
		`latchkey_http_requests_total{code="ok",route="other"} 1`,
		`latchkey_http_requests_total{code="internal",route="other"} 1`,
		`latchkey_server_errors_total{code="internal",route="other"} 1`,
		`latchkey_rate_limited_total{route="POST /api/login/begin"} 1`,
		`latchkey_ceremonies_total{kind="login",outcome="rate_limited",step="begin"} 1`,
		`latchkey_ceremonies_total{kind="oidc_token",outcome="unavailable",step="finish"} 1`,
		`latchkey_server_errors_total{code="unavailable",route="/oauth2/token"} 1`,
		`latchkey_ceremony_duration_seconds_bucket{kind="oidc_token",step="finish",le="2.5"} 0`,
		`latchkey_ceremony_duration_seconds_bucket{kind="oidc_token",step="finish",le="5"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
	for _, leak := range []string{"alice", "no such code"} {
		if strings.Contains(got, leak) {
			t.Errorf("the metrics hold %q", leak)
		}
	}
}

// The pool's statistics are read at each scrape.
func TestDatabasePool(t *testing.T) {
	m := metrics.New()
	stats := sql.DBStats{MaxOpenConnections: 8, OpenConnections: 5, InUse: 3, Idle: 2, WaitCount: 7, MaxIdleClosed: 11}
	m.WatchDatabase(func() sql.DBStats { return stats })
	got := scrape(t, m)
	stats.MaxIdleClosed = 12
	again := scrape(t, m)
	for _, want := range []string{
		`go_sql_max_open_connections{db_name="latchkey"} 8`,
		`go_sql_open_connections{db_name="latchkey"} 5`,
		`go_sql_in_use_connections{db_name="latchkey"} 3`,
		`go_sql_idle_connections{db_name="latchkey"} 2`,
		`go_sql_wait_count_total{db_name="latchkey"} 7`,
		`go_sql_max_idle_closed_total{db_name="latchkey"} 11`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
	if !strings.Contains(again, `go_sql_max_idle_closed_total{db_name="latchkey"} 12`+"\n") {
		t.Errorf("the second scrape did not read the pool again:\n%s", again)
	}
}

// What a request pays for its metrics.
func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New()
	finish := shared.RouteLoginFinish.Pattern()
	b.Run("ok", func(b *testing.B) {
		for b.Loop() {
			m.ObserveRequest(finish, "", time.Millisecond)
		}
	})
	b.Run("refused", func(b *testing.B) {
		for b.Loop() {
			m.ObserveRequest(finish, shared.CodeCredentialRejected, time.Millisecond)
		}
	})
}
