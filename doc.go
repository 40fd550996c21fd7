// Package steeple holds Steeple's domain types and its error type. It imports
// nothing from this module, so every other package may depend on it.
package steeple
