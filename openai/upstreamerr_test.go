package openai

import "testing"

func TestUpstreamError(t *testing.T) {
	for _, tc := range []struct {
		name, body              string
		typ, code, msg, generic string
	}{
		{"openai", `{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			"invalid_request_error", "context_length_exceeded", "too long", ""},
		{"flat", `{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`, "BadRequestError", "400", "bad", ""},
		{"not json", `<html>502 Bad Gateway</html>`, "upstream_error", "upstream_status", "", "the model server answered 404 Not Found"},
		{"no error", `{"detail":"Not Found"}`, "upstream_error", "upstream_status", "", "the model server answered 404 Not Found"},
		{"text in names", `{"error":{"message":"m","type":"how to build it","code":"a b","param":"中文"}}`, "upstream_error", "upstream_status", "m", ""},
	} {
		d, msg := UpstreamError(404, []byte(tc.body))
		if d.Type != tc.typ || d.Code != tc.code || msg != tc.msg || tc.generic != "" && d.Message != tc.generic {
			t.Errorf("%s: %+v %q", tc.name, d, msg)
		}
		if tc.name == "text in names" && d.Param != nil {
			t.Errorf("%s: param %q kept", tc.name, *d.Param)
		}
	}
}
