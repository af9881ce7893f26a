package boot

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/metrics"
	"github.com/latchkey/latchkey/server/store/bunstore"
)

// observer is the metrics METRICS_ADDR asks for, as the edge's Observer and
// as the handler that serves them; both nil without METRICS_ADDR, so a
// server without metrics pays nothing for them.
func observer(cfg *config.Config, db *bunstore.Store) (httpapi.Observer, http.Handler) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	m := metrics.New()
	m.WatchDatabase(db.Stats)
	return m, m.Handler()
}

// serveMetrics serves h on METRICS_ADDR, a listener of its own so that the
// metrics never reach the public one. Closing the server it returns stops it.
func serveMetrics(cfg *config.Config, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	log.Info("metrics are served", "addr", ln.Addr().String(), "path", "/metrics")
	return srv, nil
}
