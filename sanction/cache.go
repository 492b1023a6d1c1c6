package sanction

// userKey names one end user of one tenant.
type userKey struct{ tenantID, endUserID string }

// userState is what the request path needs to know about a user. It is
// immutable once cached: changes replace it.
type userState struct {
	active []Sanction // unlifted and unexpired when loaded
	inARow bool       // violations since the last clean input
}
