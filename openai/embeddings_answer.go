package openai

import "errors"

// EmbeddingResponse is an upstream's embeddings answer, parsed as strictly
// as a chat completion and scrubbed the same way: the vectors (arrays of
// numbers, or base64 strings), their indexes and the usage are relayed;
// any other member that holds text is removed, and the answer names the
// public model.
type EmbeddingResponse struct {
	Usage *Usage
	root  *node
}

// ParseEmbeddingResponse reads an upstream's embeddings body.
func ParseEmbeddingResponse(body []byte) (*EmbeddingResponse, error) {
	root, err := parseAnswer(body, "embeddings")
	if err != nil {
		return nil, err
	}
	if !root.kindIs(kindObject) {
		return nil, errors.New("decode embeddings: not an object")
	}
	scrubMembers(root, func(key string, val *node) bool {
		return key == "data" || key == "model" && val.kind == kindString || key == "object" && nameLike(val)
	})
	data := root.get("data")
	if data != nil && data.kind != kindArray {
		return nil, errors.New("decode embeddings: data is not an array")
	}
	if data != nil {
		for _, item := range data.elems {
			if !item.kindIs(kindObject) {
				return nil, errors.New("decode embeddings: an item is not an object")
			}
			scrubMembers(item, func(key string, val *node) bool {
				return key == "embedding" && val.kind == kindString && isBase64(val.str) || key == "object" && nameLike(val)
			})
		}
	}
	return &EmbeddingResponse{Usage: usageOf(root.get("usage")), root: root}, nil
}

// Encode returns the scrubbed answer naming model.
func (r *EmbeddingResponse) Encode(model string) []byte {
	if m := r.root.get("model"); m.kindIs(kindString) {
		m.str = model
	}
	return r.root.encode(nil)
}

// isBase64 says s is written in base64's alphabet (encoding_format
// "base64" sends a vector so).
func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
