package openai

import (
	"fmt"
	"net/http"
)

// UpstreamError reads the body of an upstream's error answer (status is
// its HTTP status) as the error a client may see. An upstream's error is
// an answer too: its message is returned apart, for review, and the rest
// keeps only what reads as names (type, code, param), so no text of the
// upstream's reaches the client but through the message. A body that is
// not an OpenAI error ({"error":{…}}, or the flat {"object":"error",…} of
// some servers) gives a message that only names the status.
func UpstreamError(status int, body []byte) (d ErrorDetail, message string) {
	d = ErrorDetail{Type: "upstream_error", Code: "upstream_status",
		Message: fmt.Sprintf("the model server answered %d %s", status, http.StatusText(status))}
	root, err := parseStrictAs(body, "error")
	if err != nil {
		return d, ""
	}
	e := root.get("error")
	if !e.kindIs(kindObject) {
		if obj := root.get("object"); !obj.kindIs(kindString) || obj.str != "error" {
			return d, ""
		}
		e = root
	}
	if t := e.get("type"); t.kindIs(kindString) && nameLike(t) {
		d.Type = t.str
	}
	if c := e.get("code"); (c.kindIs(kindString) || c.kindIs(kindNumber)) && nameLike(c) {
		d.Code = c.str
	}
	if p := e.get("param"); p.kindIs(kindString) && nameLike(p) {
		param := p.str
		d.Param = &param
	}
	if m := e.get("message"); m.kindIs(kindString) {
		message = m.str
	}
	return d, message
}
