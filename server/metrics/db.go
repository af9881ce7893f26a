package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// dbCollector reports a database/sql pool's statistics. client_golang's
// collectors.NewDBStatsCollector needs the *sql.DB itself; the store hands
// out only its statistics.
type dbCollector struct {
	stats func() sql.DBStats
}

func dbDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("go_sql_"+name, help, nil, prometheus.Labels{"db_name": "latchkey"})
}

var (
	dbMaxOpen           = dbDesc("max_open_connections", "Maximum number of open connections to the database.")
	dbOpen              = dbDesc("open_connections", "The number of established connections both in use and idle.")
	dbInUse             = dbDesc("in_use_connections", "The number of connections currently in use.")
	dbIdle              = dbDesc("idle_connections", "The number of idle connections.")
	dbWaitCount         = dbDesc("wait_count_total", "The total number of connections waited for.")
	dbWaitDuration      = dbDesc("wait_duration_seconds_total", "The total time blocked waiting for a new connection.")
	dbMaxIdleClosed     = dbDesc("max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns.")
	dbMaxIdleTimeClosed = dbDesc("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime.")
	dbMaxLifetimeClosed = dbDesc("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime.")
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMaxOpen, dbOpen, dbInUse, dbIdle, dbWaitCount, dbWaitDuration,
		dbMaxIdleClosed, dbMaxIdleTimeClosed, dbMaxLifetimeClosed} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(dbMaxOpen, float64(s.MaxOpenConnections))
	gauge(dbOpen, float64(s.OpenConnections))
	gauge(dbInUse, float64(s.InUse))
	gauge(dbIdle, float64(s.Idle))
	counter(dbWaitCount, float64(s.WaitCount))
	counter(dbWaitDuration, s.WaitDuration.Seconds())
	counter(dbMaxIdleClosed, float64(s.MaxIdleClosed))
	counter(dbMaxIdleTimeClosed, float64(s.MaxIdleTimeClosed))
	counter(dbMaxLifetimeClosed, float64(s.MaxLifetimeClosed))
}
