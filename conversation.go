package steeple

// ConversationStatus is whether a conversation with one phone waits for
// the church (open) or is done with (closed; a new text opens it again).
type ConversationStatus string

// Conversation statuses.
const (
	ConversationOpen   ConversationStatus = "open"
	ConversationClosed ConversationStatus = "closed"
)
