package safety

// Decide turns hits found outside the engine — by a guard model, say —
// into a decision under this engine's policy: the policy's action
// overrides apply to each hit, the safe reply is the policy's for the
// deciding risk code, and the decision carries the policy version. Hit
// offsets are into text.
func (e *Engine) Decide(dir Direction, text string, hits []Hit) Decision {
	own := make([]Hit, len(hits))
	for i, h := range hits {
		h.Action = e.action(dir, h.Detector, h.Code, h.Action)
		own[i] = h
	}
	return e.decide(dir, text, own)
}
