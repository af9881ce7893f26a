package httpapi_test

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// reportLatency adds the median and 95th percentile of the samples.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds()), "p95-µs")
}

// BenchmarkLoginCeremony is one whole passkey login over HTTP against
// Postgres and Redis: begin, the authenticator's signature, finish (which
// verifies, records the passkey's use and starts a session). Rate limits
// are off so the loop measures the ceremony. Run with -benchtime=100x for
// the median over 100 logins.
func BenchmarkLoginCeremony(b *testing.B) {
	s := teststores.PostgresRedis(b)
	s.Limiter = nil
	a := newAPI(b, s)
	ctx := context.Background()
	key := passkeytest.New(a.URL, "localhost")
	c := client.NewHTTP(a.URL, nil)
	signUp(b, c, key, "bench", "bench@example.com")
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		begin, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		cred, err := key.Login(begin.Options)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

// BenchmarkSignupCeremony is one whole sign-up over HTTP against Postgres
// and Redis.
func BenchmarkSignupCeremony(b *testing.B) {
	s := teststores.PostgresRedis(b)
	s.Limiter = nil
	a := newAPI(b, s)
	ctx := context.Background()
	key := passkeytest.New(a.URL, "localhost")
	c := client.NewHTTP(a.URL, nil)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		name := "user" + strconv.Itoa(i)
		begin, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: name, Email: name + "@example.com"})
		if err != nil {
			b.Fatal(err)
		}
		cred, _ := key.Register(begin.Options)
		if _, err := c.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, samples)
}
