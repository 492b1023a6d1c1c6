package openai

// EmbeddingRequest is what the gateway reads from an embeddings request;
// like ChatRequest it keeps the parsed body and encodes it again.
type EmbeddingRequest struct {
	Model string
	User  string

	root *node
}

// ParseEmbeddingRequest reads an embeddings request body, as strictly as
// ParseChatRequest.
func ParseEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	r := &EmbeddingRequest{root: root}
	if r.Model, err = optString(root, "model"); err != nil {
		return nil, err
	}
	if r.User, err = optString(root, "user"); err != nil {
		return nil, err
	}
	return r, nil
}

// Encode returns the body for an upstream, with model replaced.
func (r *EmbeddingRequest) Encode(model string) ([]byte, error) {
	return withMember(r.root, "model", stringNode(model)).encode(make([]byte, 0, 256)), nil
}
