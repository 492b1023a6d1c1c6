package upstream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/upstream"
)

func newRouter(t *testing.T, opts upstream.Options) *upstream.Router {
	t.Helper()
	r, err := upstream.New(opts)
	if err != nil {
		t.Fatalf("new router: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNewValidates(t *testing.T) {
	up := []upstream.Config{{Name: "a", BaseURL: "http://127.0.0.1:1/v1"}}
	model := func(name, up string) upstream.Model {
		return upstream.Model{Name: name, Targets: []upstream.Target{{Upstream: up}}}
	}
	tests := []struct {
		name    string
		opts    upstream.Options
		wantErr string
	}{
		{"no models", upstream.Options{Upstreams: up}, "no models"},
		{"duplicate upstream", upstream.Options{Upstreams: append(up, up[0]), Models: []upstream.Model{model("m", "a")}}, "duplicate upstream"},
		{"upstream without name", upstream.Options{Upstreams: []upstream.Config{{BaseURL: "http://x/v1"}}, Models: []upstream.Model{model("m", "a")}}, "without a name"},
		{"bad url scheme", upstream.Options{Upstreams: []upstream.Config{{Name: "a", BaseURL: "ftp://x/v1"}}, Models: []upstream.Model{model("m", "a")}}, "base url"},
		{"url without host", upstream.Options{Upstreams: []upstream.Config{{Name: "a", BaseURL: "http:///v1"}}, Models: []upstream.Model{model("m", "a")}}, "base url"},
		{"unparsable url", upstream.Options{Upstreams: []upstream.Config{{Name: "a", BaseURL: "http://[::1"}}, Models: []upstream.Model{model("m", "a")}}, "base url"},
		{"negative weight", upstream.Options{Upstreams: []upstream.Config{{Name: "a", BaseURL: "http://x/v1", Weight: -1}}, Models: []upstream.Model{model("m", "a")}}, "negative"},
		{"unknown upstream in target", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "nope")}}, `unknown upstream "nope"`},
		{"duplicate model", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a"), model("m", "a")}}, "duplicate model"},
		{"reserved name", upstream.Options{Upstreams: up, Models: []upstream.Model{model("auto", "a")}}, "reserved"},
		{"no targets", upstream.Options{Upstreams: up, Models: []upstream.Model{{Name: "m"}}}, "no targets"},
		{"duplicate target", upstream.Options{Upstreams: up, Models: []upstream.Model{{Name: "m", Targets: []upstream.Target{{Upstream: "a"}, {Upstream: "a", Model: "m"}}}}}, "duplicate target"},
		{"unknown general", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")}, Routing: upstream.Routing{General: "x"}}, "unknown general"},
		{"domain with unknown model", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")},
			Routing: upstream.Routing{Domains: []upstream.DomainRule{{Domain: "edu", Model: "x", Keywords: []string{"k"}}}}}, "unknown model"},
		{"domain without rules", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")},
			Routing: upstream.Routing{Domains: []upstream.DomainRule{{Domain: "edu", Model: "m"}}}}, "no keywords"},
		{"duplicate domain", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")},
			Routing: upstream.Routing{Domains: []upstream.DomainRule{{Domain: "edu", Model: "m", Keywords: []string{"a"}}, {Domain: "edu", Model: "m", Keywords: []string{"b"}}}}}, "duplicate domain"},
		{"bad regex", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")},
			Routing: upstream.Routing{Domains: []upstream.DomainRule{{Domain: "edu", Model: "m", Patterns: []string{"(unclosed"}}}}}, "pattern"},
		{"empty keyword", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")},
			Routing: upstream.Routing{Domains: []upstream.DomainRule{{Domain: "edu", Model: "m", Keywords: []string{""}}}}}, "empty keyword"},
		{"negative eject", upstream.Options{Upstreams: up, Models: []upstream.Model{model("m", "a")}, EjectAfter: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := upstream.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	c := upstream.Config{
		Name: "vllm", BaseURL: "https://user:pa55word@models.example/v1", APIKey: "sk-topsecret",
		Headers: map[string]string{"X-Api-Key": "hdr-secret", "Authorization": "Bearer tok-secret", "X-Team": "blue"},
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"String": c.String(), "MarshalJSON": string(js), "Sprintf %v": fmt.Sprintf("%v", c), "pointer %+v": fmt.Sprintf("%+v", &c),
	} {
		t.Run(name, func(t *testing.T) {
			// Every header value is hidden: a name does not say whether
			// its value is secret.
			for _, secret := range []string{"sk-topsecret", "hdr-secret", "tok-secret", "pa55word", "blue"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s shows %q: %s", name, secret, out)
				}
			}
			if !strings.Contains(out, "vllm") || !strings.Contains(out, "X-Team") || !strings.Contains(out, "models.example") {
				t.Errorf("%s lost the non-secret fields: %s", name, out)
			}
		})
	}
}

// autoRouter is a router with a general model and three domains.
func autoRouter(t *testing.T) *upstream.Router {
	t.Helper()
	up := []upstream.Config{{Name: "a", BaseURL: "http://127.0.0.1:1/v1"}}
	var models []upstream.Model
	for _, n := range []string{"general", "edu", "med", "office"} {
		models = append(models, upstream.Model{Name: n + "-model", Domain: n, Targets: []upstream.Target{{Upstream: "a"}}})
	}
	return newRouter(t, upstream.Options{Upstreams: up, Models: models, Routing: upstream.Routing{
		General: "general-model",
		Domains: []upstream.DomainRule{
			{Domain: "edu", Model: "edu-model", Keywords: []string{"homework", "exam", "作业", "Schüler"}},
			{Domain: "medical", Model: "med-model", Keywords: []string{"doctor", "symptom", "exam", "医生"}},
			{Domain: "office", Model: "office-model", Keywords: []string{"spreadsheet"}, Patterns: []string{`(?i)\bpptx?\b`}},
		},
	}})
}

func TestResolve(t *testing.T) {
	r := autoRouter(t)
	tests := []struct {
		name, requested, tenant, text string
		wantModel, wantReason         string
	}{
		{"direct", "med-model", "edu-model", "", "med-model", "direct"},
		{"empty uses general", "", "", "", "general-model", "general"},
		{"default uses tenant", "default", "office-model", "", "office-model", "tenant"},
		{"empty uses tenant", "", "edu-model", "homework", "edu-model", "tenant"},
		{"tenant default auto", "", "auto", "my DOCTOR said", "med-model", "auto:medical"},
		{"auto keyword case-insensitive", "auto", "", "Help with my HomeWork please", "edu-model", "auto:edu"},
		{"auto unicode fold", "auto", "", "ein SCHÜLER fragt", "edu-model", "auto:edu"},
		{"auto chinese", "auto", "", "我想问医生一个问题", "med-model", "auto:medical"},
		{"auto most hits wins", "auto", "", "exam symptom doctor homework", "med-model", "auto:medical"},
		{"auto tie goes to first declared", "auto", "", "an exam", "edu-model", "auto:edu"},
		{"auto pattern", "auto", "", "convert this PPTX", "office-model", "auto:office"},
		{"auto pattern needs word boundary", "auto", "", "apptx", "general-model", "auto:general"},
		{"auto no match", "auto", "", "what is the weather", "general-model", "auto:general"},
		{"auto empty text", "auto", "", "", "general-model", "auto:general"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route, err := r.Resolve(tt.requested, tt.tenant, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if route.Model.Name != tt.wantModel || route.Reason != tt.wantReason {
				t.Errorf("got %s (%s), want %s (%s)", route.Model.Name, route.Reason, tt.wantModel, tt.wantReason)
			}
		})
	}
}

func TestResolveUnknown(t *testing.T) {
	r := autoRouter(t)
	for _, tt := range []struct{ name, requested, tenant string }{
		{"unknown requested", "gpt-9", ""},
		{"unknown tenant default", "", "gone-model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Resolve(tt.requested, tt.tenant, "")
			var oe *clienterr.Error
			if !errors.As(err, &oe) || oe.Code != clienterr.ModelNotFound || oe.Param != "model" {
				t.Fatalf("error %v, want model_not_found", err)
			}
		})
	}
}

func TestModelsAreCopies(t *testing.T) {
	r := autoRouter(t)
	ms := r.Models()
	if len(ms) != 4 || ms[1].Name != "edu-model" || ms[1].Targets[0].Model != "edu-model" {
		t.Fatalf("models %+v (target model should default to the public name)", ms)
	}
	ms[1].Targets[0].Upstream = "changed"
	if r.Models()[1].Targets[0].Upstream != "a" {
		t.Error("Models returned the router's own slice")
	}
}
