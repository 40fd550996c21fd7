package web_test

import (
	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

type tenancyFilter = tenancy.TenantFilter

func storeNewAdmin(name, email, hash string) store.NewAdmin {
	return store.NewAdmin{Name: name, Email: email, PasswordHash: hash, Role: steeple.RoleOwner}
}
