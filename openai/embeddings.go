package openai

// EmbeddingRequest is what the gateway reads from an embeddings request;
// like ChatRequest it keeps the body and patches only the model.
type EmbeddingRequest struct {
	Model string `json:"model"`
	User  string `json:"user"`

	body []byte
}

// ParseEmbeddingRequest decodes an embeddings request body.
func ParseEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	var r EmbeddingRequest
	if err := decodeObject(body, &r); err != nil {
		return nil, err
	}
	r.body = body
	return &r, nil
}

// Encode returns the body for an upstream, with model replaced.
func (r *EmbeddingRequest) Encode(model string) ([]byte, error) { return withModel(r.body, model) }
