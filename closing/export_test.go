package closing

// AfterStep makes a purge call fn after each step (a test stops it there).
func AfterStep(s *Service, fn func(step string) error) { s.after = fn }
