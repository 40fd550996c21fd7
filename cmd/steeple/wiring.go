package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/webhooks"
)

// services are the serving parts, wired together.
type services struct {
	accounts     *auth.Service
	members      *members.Service
	messaging    *messaging.Service
	inbox        *inbox.Service
	webhooks     *webhooks.Service
	numbers      *numbers.Service
	registration *registration.Service
	schedules    *schedule.Service
	queue        *jobs.Queue
	sim          *telnyxsim.Sim // nil when talking to real Telnyx
	stopSim      func()
}

// wire builds the services over an opened env.
func wire(ctx context.Context, e *env) (*services, error) {
	cfg := e.cfg
	keys, err := loadKeys(cfg, e)
	if err != nil {
		return nil, err
	}
	plans := map[string]steeple.Plan{}
	for name, p := range cfg.Plans {
		plans[name] = steeple.Plan{Name: name, MaxAdmins: p.MaxAdmins, MonthlySegments: p.MonthlySegments}
	}
	st := store.New(keys, nil)
	authCfg := auth.DefaultConfig()
	authCfg.PublicURL, authCfg.Plans = cfg.PublicURL, plans
	s := &services{accounts: auth.New(e.ten, st, keys, authCfg, nil), members: members.New(st), stopSim: func() {}}

	baseURL, apiKey, publicKey := cfg.TelnyxBaseURL, cfg.TelnyxAPIKey, cfg.TelnyxPublicKey
	if cfg.Simulated() {
		s.sim = telnyxsim.New(telnyxsim.Options{Logger: e.log})
		root, stop, err := s.sim.Start("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		baseURL, apiKey, s.stopSim = root+"/v2", "simulated", stop
		publicKey = s.sim.PublicKeyBase64()
		e.log.Warn("NO TELNYX KEY: texts go to the built-in Telnyx simulator, not to phones", "simulator", root,
			"hint", "set STEEPLE_TELNYX_API_KEY and STEEPLE_TELNYX_PUBLIC_KEY to send for real")
	}
	mc := messaging.DefaultConfig()
	mc.PublicURL, mc.PerNumberRate, mc.AccountRate, mc.Plans = cfg.PublicURL, cfg.SendRatePerNumber, cfg.SendRateAccount, plans
	mc.RegisteredRate, mc.UnregisteredDailyCap = cfg.SendRateRegistered, cfg.UnregisteredDailyCap
	client := telnyx.New(telnyx.Config{BaseURL: baseURL, APIKey: apiKey})
	provider := messaging.TelnyxProvider{Client: client}
	s.messaging = messaging.New(e.ten, st, provider, mc, e.log)
	pub, err := telnyx.ParsePublicKey(publicKey)
	if err != nil {
		s.stopSim()
		return nil, fmt.Errorf("STEEPLE_TELNYX_PUBLIC_KEY: %w", err)
	}
	s.inbox = inbox.New(st, s.messaging, inbox.Config{ProviderConfirmsKeywords: cfg.ProviderConfirmsKeywords}, e.log)
	wc := webhooks.DefaultConfig()
	wc.PublicKey = pub
	s.webhooks = webhooks.New(e.ten, keys, s.inbox, s.messaging, wc, e.metrics, e.log)
	nc := numbers.DefaultConfig()
	nc.PublicURL, nc.ReleaseGrace = cfg.PublicURL, cfg.NumberReleaseGrace
	s.numbers = numbers.New(e.ten, client, nc, e.log)
	rc := registration.DefaultConfig()
	rc.PublicURL = cfg.PublicURL
	s.registration = registration.New(e.ten, st, client, rc, e.log)
	s.numbers.OnNumberAdded(s.registration.NumberAdded)
	s.webhooks.SetRegistration(s.registration)
	s.schedules = schedule.New(e.ten, st, s.messaging, schedule.Config{}, e.log)
	workers := river.NewWorkers()
	s.messaging.Register(workers)
	s.webhooks.Register(workers)
	s.numbers.Register(workers)
	s.registration.Register(workers)
	s.schedules.Register(workers)
	s.inbox.Register(workers)
	quiet := slog.New(e.log.Handler()).With("component", "queue")
	periodic := append(s.messaging.PeriodicJobs(time.Minute), s.webhooks.PeriodicJobs(time.Hour)...)
	periodic = append(periodic, s.numbers.PeriodicJobs(time.Minute)...)
	periodic = append(periodic, s.registration.PeriodicJobs(time.Minute)...)
	periodic = append(periodic, s.schedules.PeriodicJobs(15*time.Second)...)
	s.queue, err = jobs.New(e.ten.Registry, workers, jobs.Config{MaxWorkers: cfg.Workers, EventWorkers: cfg.EventWorkers,
		PeriodicJobs: periodic, Logger: quiet})
	if err != nil {
		s.stopSim()
		return nil, err
	}
	s.messaging.UseQueue(s.queue)
	s.webhooks.UseQueue(s.queue)
	s.numbers.UseQueue(s.queue)
	s.schedules.UseQueue(s.queue)
	s.inbox.Use(e.ten, s.schedules, s.queue, nil)
	s.members.OnOptIn(s.inbox.OptedIn)
	s.members.OnImportOptIn(s.inbox.OptedInPaced)
	return s, nil
}
