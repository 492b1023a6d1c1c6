package upstream_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/upstream"
)

// BenchmarkResolveAuto routes a 2 KB message among 10 domains of 50
// keywords each; the message hits one domain's keywords a few times.
func BenchmarkResolveAuto(b *testing.B) {
	up := []upstream.Config{{Name: "a", BaseURL: "http://127.0.0.1:1/v1"}}
	models := []upstream.Model{{Name: "general", Targets: []upstream.Target{{Upstream: "a"}}}}
	var rules []upstream.DomainRule
	for d := range 10 {
		name := fmt.Sprintf("domain%d", d)
		models = append(models, upstream.Model{Name: name, Targets: []upstream.Target{{Upstream: "a"}}})
		var kws []string
		for k := range 50 {
			kws = append(kws, fmt.Sprintf("Topic%dterm%d", d, k))
		}
		kws[0] = []string{"作业", "医生", "合同", "表格", "考试", "症状", "律师", "代码", "发票", "课程"}[d]
		rules = append(rules, upstream.DomainRule{Domain: name, Model: name, Keywords: kws})
	}
	r, err := upstream.New(upstream.Options{Upstreams: up, Models: models, Routing: upstream.Routing{General: "general", Domains: rules}})
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for sb.Len() < 2048 {
		sb.WriteString("Please help me with my homework about the French Revolution, 我的医生说 topic7term3 and Topic7Term12 ")
	}
	text := sb.String()[:2048]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		route, err := r.Resolve("auto", "", text)
		if err != nil || route.Reason != "auto:domain7" {
			b.Fatalf("%v %s", err, route.Reason)
		}
	}
}

// BenchmarkDo sends a non-stream chat request through the router to a
// loopback fake upstream (in the same process) and reads the answer; the
// figure includes the fake's own work and the loopback round trip.
func BenchmarkDo(b *testing.B) {
	s := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "ok"}})
	b.Cleanup(s.Close)
	r, err := upstream.New(upstream.Options{
		Upstreams: []upstream.Config{{Name: "u", BaseURL: s.URL, APIKey: "k"}},
		Models:    []upstream.Model{{Name: "chat", Targets: []upstream.Target{{Upstream: "u", Model: "m"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	req := upstream.Request{Path: "/chat/completions", Body: func(string) ([]byte, error) { return body, nil }}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		route, _ := r.Resolve("chat", "", "")
		resp, err := r.Do(ctx, route, req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
