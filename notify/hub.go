package notify

import "sync"

// hub hands payloads to the subscribers of this process. Each subscription
// has its own queue and runs its callbacks one at a time in publish order,
// so a slow subscriber delays only itself and never the publisher.
type hub struct {
	mu     sync.Mutex
	topics map[string]map[*subscription]struct{}
}

func newHub() *hub {
	return &hub{topics: map[string]map[*subscription]struct{}{}}
}

// subscription is one Subscribe call. A worker goroutine exists only while
// the queue is not empty.
type subscription struct {
	fn func(payload string)

	mu        sync.Mutex
	queue     []string
	running   bool
	cancelled bool
}

// subscribe registers fn for topic and returns the function that removes it.
func (h *hub) subscribe(topic string, fn func(string)) func() {
	s := &subscription{fn: fn}
	h.mu.Lock()
	subs := h.topics[topic]
	if subs == nil {
		subs = map[*subscription]struct{}{}
		h.topics[topic] = subs
	}
	subs[s] = struct{}{}
	h.mu.Unlock()

	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.topics[topic], s)
			if len(h.topics[topic]) == 0 {
				delete(h.topics, topic)
			}
			h.mu.Unlock()
			s.cancel()
		})
	}
}

// deliver queues payload for every subscriber of topic. It never blocks on a
// callback.
func (h *hub) deliver(topic, payload string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.topics[topic] {
		s.push(payload)
	}
}

func (s *subscription) push(payload string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled {
		return
	}
	s.queue = append(s.queue, payload)
	if !s.running {
		s.running = true
		go s.run()
	}
}

// run calls fn for each queued payload until the queue is empty.
func (s *subscription) run() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.cancelled {
			s.queue, s.running = nil, false
			s.mu.Unlock()
			return
		}
		p := s.queue[0]
		s.queue[0] = ""
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.fn(p)
	}
}

// cancel drops what is still queued; a callback already running finishes.
func (s *subscription) cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelled = true
	s.queue = nil
}
