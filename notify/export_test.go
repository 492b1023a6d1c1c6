package notify

// ListenerPID reports the backend pid of the listening connection, or 0
// while it is down.
func (n *Notifier) ListenerPID() uint32 { return n.listenerPID.Load() }
