// Package metrics exports Latchkey's Prometheus metrics: requests and
// ceremonies by route, kind and outcome with their latencies, rate-limit
// refusals, server-side failures, sessions started, and the database pool.
//
// It is an adapter: the HTTP edge tells it of each answered request
// through httpapi.Observer, and the domain knows nothing of it. Every label
// value comes from a fixed set (the routes of shared.Routes, the codes of
// shared.Codes, the ceremony kinds below); never a name, an address, a
// token or a path as the client wrote it.
package metrics

import (
	"database/sql"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/shared"
)

// Label values outside the fixed sets: a route no pattern names, and the
// outcome of a success.
const (
	OtherRoute = "other"
	OK         = "ok"
)

// Ceremony kinds and their steps.
const (
	KindSignup     = "signup"
	KindLogin      = "login"
	KindAddPasskey = "add_passkey"
	KindEmailLink  = "email_link"
	KindOIDCToken  = "oidc_token"

	StepBegin  = "begin"
	StepFinish = "finish"
)

// ceremonyStep is what a route is to a ceremony; startsSession says a
// success logs someone in.
type ceremonyStep struct {
	kind, step    string
	startsSession bool
}

// ceremonies are the routes that begin or finish a ceremony. An app's
// token request is one step: it redeems a code (or a refresh token) for
// tokens, the end of a sign-in that began on Latchkey's pages.
var ceremonies = map[string]ceremonyStep{
	shared.RouteSignupBegin.Pattern():      {KindSignup, StepBegin, false},
	shared.RouteSignupFinish.Pattern():     {KindSignup, StepFinish, true},
	shared.RouteLoginBegin.Pattern():       {KindLogin, StepBegin, false},
	shared.RouteLoginFinish.Pattern():      {KindLogin, StepFinish, true},
	shared.RoutePasskeysBegin.Pattern():    {KindAddPasskey, StepBegin, false},
	shared.RoutePasskeysFinish.Pattern():   {KindAddPasskey, StepFinish, false},
	shared.RouteLoginEmail.Pattern():       {KindEmailLink, StepBegin, false},
	shared.RouteLoginEmailVerify.Pattern(): {KindEmailLink, StepFinish, true},
	shared.OIDCToken:                       {KindOIDCToken, StepFinish, false},
}

// Routes is every route label: the API's patterns, the health checks, the
// catch-alls for unknown API paths and for the app's pages and files, the
// OpenID Connect provider's endpoints, and OtherRoute.
func Routes() []string {
	r := []string{"GET " + shared.HealthLive, "GET " + shared.HealthReady, "/api/", "/",
		shared.OIDCDiscovery, shared.OIDCPrefix, shared.OIDCAuthorize, shared.OIDCToken,
		shared.OIDCUserinfo, shared.OIDCKeys, shared.OIDCLogout}
	for _, rt := range shared.Routes {
		r = append(r, rt.Pattern())
	}
	return append(r, OtherRoute)
}

// Outcomes is every outcome label: OK and the API's error codes.
func Outcomes() []string { return append([]string{OK}, shared.Codes...) }

// Kinds is every ceremony kind.
func Kinds() []string {
	return []string{KindSignup, KindLogin, KindAddPasskey, KindEmailLink, KindOIDCToken}
}

// latencyBuckets span a cached read (a fraction of a millisecond) to a
// request stuck behind an unreachable store (seconds).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics are Latchkey's metrics, on a registry of their own.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	ceremonies   *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	serverErrors *prometheus.CounterVec
	// routes has, for each known route, its series resolved once, so that
	// a request costs no label lookup on its way to success.
	routes map[string]*route
	other  *route
}

type route struct {
	label    string
	ok       prometheus.Counter
	duration prometheus.Observer
	// ceremony is nil for a route that is no ceremony's step.
	ceremony *ceremonyStep
	stepOK   prometheus.Counter
	stepTime prometheus.Observer
	session  prometheus.Counter
}

// New makes the metrics, with Go's runtime and the process's own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_http_requests_total",
			Help: "Requests answered, by route and outcome (ok or the error code answered).",
		}, []string{"route", "code"}),
		ceremonies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_ceremonies_total",
			Help: "Ceremony steps answered (sign-up, login, adding a passkey, login links, apps' token requests), by kind, step and outcome.",
		}, []string{"kind", "step", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_rate_limited_total",
			Help: "Requests refused by a rate limit (429), by route.",
		}, []string{"route"}),
		serverErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_server_errors_total",
			Help: "Requests that failed on the server's side, by route and code: unavailable (a store could not be reached) or internal (any other unexpected failure, such as a store's error).",
		}, []string{"route", "code"}),
		routes: map[string]*route{},
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "latchkey_http_request_duration_seconds",
		Help:    "Time to answer a request, by route.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	stepTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "latchkey_ceremony_duration_seconds",
		Help:    "Time to answer a ceremony's step, by kind and step (the person's time between the steps is not in it).",
		Buckets: latencyBuckets,
	}, []string{"kind", "step"})
	sessions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_sessions_started_total",
		Help: "Sessions started, by the ceremony that logged the person in.",
	}, []string{"kind"})
	m.reg.MustRegister(m.requests, duration, m.ceremonies, stepTime, m.rateLimited, m.serverErrors, sessions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	for _, label := range Routes() {
		r := &route{label: label, ok: m.requests.WithLabelValues(label, OK), duration: duration.WithLabelValues(label)}
		if c, ok := ceremonies[label]; ok {
			r.ceremony = &c
			r.stepOK = m.ceremonies.WithLabelValues(c.kind, c.step, OK)
			r.stepTime = stepTime.WithLabelValues(c.kind, c.step)
			if c.startsSession {
				r.session = sessions.WithLabelValues(c.kind)
			}
		}
		m.routes[label] = r
	}
	m.other = m.routes[OtherRoute]
	return m
}

// ObserveRequest counts one answered request (it is an httpapi.Observer).
// A route or code outside the fixed sets is counted as OtherRoute or
// internal, never as itself.
func (m *Metrics) ObserveRequest(routeLabel, code string, d time.Duration) {
	r, ok := m.routes[routeLabel]
	if !ok {
		r = m.other
	}
	secs := d.Seconds()
	r.duration.Observe(secs)
	if r.ceremony != nil {
		r.stepTime.Observe(secs)
	}
	if code == "" {
		r.ok.Inc()
		if r.ceremony != nil {
			r.stepOK.Inc()
			if r.session != nil {
				r.session.Inc()
			}
		}
		return
	}
	if !slices.Contains(shared.Codes, code) {
		code = shared.CodeInternal
	}
	m.requests.WithLabelValues(r.label, code).Inc()
	if r.ceremony != nil {
		m.ceremonies.WithLabelValues(r.ceremony.kind, r.ceremony.step, code).Inc()
	}
	switch code {
	case shared.CodeRateLimited:
		m.rateLimited.WithLabelValues(r.label).Inc()
	case shared.CodeUnavailable, shared.CodeInternal:
		m.serverErrors.WithLabelValues(r.label, code).Inc()
	}
}

// WatchDatabase exports the database pool's statistics, read from stats at
// each scrape, under the names of client_golang's own DBStats collector
// (go_sql_…{db_name="latchkey"}), so existing dashboards show them.
func (m *Metrics) WatchDatabase(stats func() sql.DBStats) {
	m.reg.MustRegister(&dbCollector{stats: stats})
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
