package steeple

// Church setting keys: every key of a church's settings table, in one
// place. Values are text; defaults live with the service that reads them
// (members for region, help, quiet hours and welcome text; messaging for
// the send rate).
const (
	// SettingPhoneRegion names the region (ISO 3166 code, e.g. US, CA, GB)
	// whose national phone numbers the church accepts.
	SettingPhoneRegion = "phone_region"
	// SettingHelpContact tells members how to reach the church, sent in
	// the answer to HELP.
	SettingHelpContact = "help_contact"
	// SettingQuietStart and SettingQuietEnd ("HH:MM", local) bound the
	// nightly window in which scheduled, recurring and welcome texts wait.
	SettingQuietStart = "quiet_hours_start"
	SettingQuietEnd   = "quiet_hours_end"
	// SettingWelcomeText is sent once to each member who opts in.
	SettingWelcomeText = "welcome_text"
	// SettingSendRate is messages per second from the church's number
	// (overrides messaging.Config.PerNumberRate).
	SettingSendRate = "send_rate_per_second"
	// SettingReplyForwardPhone is a staff mobile (E.164) every reply texted
	// to the church is forwarded to, from the church's number.
	SettingReplyForwardPhone = "reply_forward_phone"
)
