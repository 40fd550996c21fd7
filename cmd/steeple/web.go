package main

import (
	"github.com/steeple-sms/steeple/web"
)

// webApp builds the web app over the wired services; it is mounted at "/"
// beside the JSON API.
func (s *services) webApp(e *env) (*web.Handler, error) {
	cfg := e.cfg
	return web.New(web.Deps{Tenancy: e.ten, Auth: s.accounts, Store: s.store, Members: s.members, Messaging: s.messaging,
		Inbox: s.inbox, Numbers: s.numbers, Registration: s.registration, Schedules: s.schedules, Plans: s.plans,
		Limits: web.Limits{UnregisteredRate: cfg.SendRatePerNumber, UnregisteredDailyCap: cfg.UnregisteredDailyCap,
			RegisteredRate: cfg.SendRateRegistered},
		AcquireTimeout: cfg.AcquireTimeout, Logger: e.log.With("component", "web")})
}
