//go:build race

package registration_test

// raceDetector: the race detector slows every send by far more than the
// intervals timing assertions compare.
const raceDetector = true
