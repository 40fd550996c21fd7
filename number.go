package steeple

// NumberState is where a church's phone number is in its life.
type NumberState string

// Number states: a releasing number stops sending and is given back to
// the provider at its release time unless the release is undone.
const (
	NumberActive    NumberState = "active"
	NumberReleasing NumberState = "releasing"
)
