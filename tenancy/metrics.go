package tenancy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// managerMetrics are the tenant manager's Prometheus series.
type managerMetrics struct {
	waits      prometheus.Counter
	waitTime   prometheus.Histogram
	evictions  prometheus.Counter
	opens      prometheus.Counter
	acquireErr *prometheus.CounterVec
}

func newManagerMetrics(reg prometheus.Registerer, m *Manager) *managerMetrics {
	mm := &managerMetrics{
		waits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steeple_tenant_acquire_waits_total",
			Help: "Acquisitions that had to wait for room in the connection budget.",
		}),
		waitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "steeple_tenant_acquire_wait_seconds",
			Help:    "Time spent waiting for room in the connection budget.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steeple_tenant_pool_evictions_total",
			Help: "Idle tenant pools closed to make room or because they sat idle.",
		}),
		opens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steeple_tenant_pool_opens_total",
			Help: "Tenant pools opened.",
		}),
		acquireErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steeple_tenant_acquire_errors_total",
			Help: "Failed acquisitions by error code.",
		}, []string{"code"}),
	}
	if reg == nil {
		return mm
	}
	reg.MustRegister(mm.waits, mm.waitTime, mm.evictions, mm.opens, mm.acquireErr,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "steeple_tenant_pools_open",
			Help: "Tenant databases open (pools, including dedicated migration connections).",
		}, func() float64 { return float64(m.Stats().Pools) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "steeple_tenant_conns_open",
			Help: "Tenant connections counted against the budget.",
		}, func() float64 { return float64(m.Stats().Conns) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "steeple_tenant_conns_in_use",
			Help: "Tenant connections held by a request or job.",
		}, func() float64 { return float64(m.Stats().InUse) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "steeple_tenant_conns_given_way_total",
			Help: "Send jobs' connections given up for a member's text waiting for room in a full budget.",
		}, func() float64 { return float64(m.Stats().GaveWay) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "steeple_tenant_conns_budget",
			Help: "The connection budget for all tenant databases together.",
		}, func() float64 { return float64(m.cfg.MaxConns) }),
	)
	return mm
}
