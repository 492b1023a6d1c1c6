package catalog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
	"github.com/firebreak/firebreak/upstream/demo"
)

func open(t *testing.T, db *store.DB, static catalog.Static) *catalog.Catalog {
	t.Helper()
	c, err := catalog.New(context.Background(), catalog.Options{DB: db, Static: static,
		Getenv: func(k string) string { return map[string]string{"UP_KEY": "sk-from-env"}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func modelNames(c *catalog.Catalog) []string {
	var out []string
	for _, m := range c.Router().Models() {
		out = append(out, m.Name)
	}
	return out
}

func TestDemoUntilAModelIsAdded(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := open(t, db, catalog.Static{})
		if !c.Demo() || len(modelNames(c)) != 1 || modelNames(c)[0] != demo.ModelName {
			t.Fatalf("empty catalog: demo=%v models=%v", c.Demo(), modelNames(c))
		}
		if err := c.PutModel(ctx, config.Model{Name: "general", Targets: []config.Target{{Upstream: "a"}}}); err == nil {
			t.Fatal("a model on an unknown upstream must be refused")
		}
		if !c.Demo() {
			t.Fatal("a refused change replaced the working router")
		}
		if err := c.PutUpstream(ctx, config.Upstream{Name: "a", BaseURL: "http://127.0.0.1:1/v1"}); err != nil {
			t.Fatal(err)
		}
		if !c.Demo() {
			t.Fatal("an upstream without a model ended the demo")
		}
		if err := c.PutModel(ctx, config.Model{Name: "general", Targets: []config.Target{{Upstream: "a"}}}); err != nil {
			t.Fatal(err)
		}
		if c.Demo() || len(modelNames(c)) != 1 || modelNames(c)[0] != "general" {
			t.Fatalf("with a model: demo=%v models=%v", c.Demo(), modelNames(c))
		}
	})
}

func TestStaticAndStoredEntries(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		static := catalog.Static{
			Upstreams: []config.Upstream{{Name: "file-up", BaseURL: "http://127.0.0.1:1/v1", APIKeyEnv: "UP_KEY"}},
			Models:    []config.Model{{Name: "general", Targets: []config.Target{{Upstream: "file-up", Model: "qwen"}}}},
		}
		c := open(t, db, static)
		if c.Demo() {
			t.Fatal("demo with an upstream configured")
		}
		if err := c.PutUpstream(ctx, config.Upstream{Name: "file-up", BaseURL: "http://127.0.0.1:2/v1"}); !errors.Is(err, catalog.ErrStatic) {
			t.Fatalf("changing a config-file upstream: err = %v, want ErrStatic", err)
		}
		var invalid *catalog.InvalidError
		if err := c.PutUpstream(ctx, config.Upstream{Name: "b", BaseURL: "http://127.0.0.1:2/v1", APIKey: "sk-plain"}); !errors.As(err, &invalid) {
			t.Fatalf("plain api_key: err = %v, want InvalidError", err)
		}
		if err := c.PutUpstream(ctx, config.Upstream{Name: "b", BaseURL: "http://127.0.0.1:2/v1"}); err != nil {
			t.Fatal(err)
		}
		if err := c.PutModel(ctx, config.Model{Name: "medical", Domain: "medical", Targets: []config.Target{{Upstream: "b"}}}); err != nil {
			t.Fatal(err)
		}
		if err := c.PutRouting(ctx, config.Routing{General: "general", Domains: []config.DomainRule{
			{Domain: "medical", Model: "medical", Keywords: []string{"症状"}}}}); err != nil {
			t.Fatal(err)
		}
		route, err := c.Router().Resolve("auto", "", "我有头痛的症状")
		if err != nil || route.Model.Name != "medical" || route.Reason != "auto:medical" {
			t.Fatalf("auto route = %+v, %v", route, err)
		}
		if err := c.PutRouting(ctx, config.Routing{General: "nope"}); !errors.As(err, &invalid) {
			t.Fatalf("routing to an unknown model: err = %v", err)
		}
		if got := modelNames(c); len(got) != 2 {
			t.Fatalf("models after a refused change = %v", got)
		}

		// A second catalog on the same database (a restart) sees the same.
		c2 := open(t, db, static)
		if got := modelNames(c2); len(got) != 2 || got[1] != "medical" {
			t.Fatalf("reloaded models = %v", got)
		}
		rt, err := c2.Routing(ctx)
		if err != nil || rt.Source != catalog.SourceAdmin || rt.Value.General != "general" {
			t.Fatalf("routing = %+v, %v", rt, err)
		}
		ups, err := c2.Upstreams(ctx)
		if err != nil || len(ups) != 2 || ups[0].Source != catalog.SourceConfig || ups[1].Source != catalog.SourceAdmin {
			t.Fatalf("upstreams = %+v, %v", ups, err)
		}
		if err := c2.DeleteModel(ctx, "medical"); err == nil {
			t.Fatal("deleting a model that routing still names must be refused")
		}
		if err := c2.PutRouting(ctx, config.Routing{General: "general"}); err != nil {
			t.Fatal(err)
		}
		if err := c2.DeleteModel(ctx, "medical"); err != nil {
			t.Fatal(err)
		}
		if err := c2.DeleteUpstream(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := c2.DeleteUpstream(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: err = %v, want ErrNotFound", err)
		}
	})
}

// TestReplicasFollowChanges runs two catalogs on one database, each with
// its own notifier, as two replicas would: a model added on one is served
// by the other.
func TestReplicasFollowChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		replica := func() *catalog.Catalog {
			n, err := notify.Open(ctx, db, notify.Options{PollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close() })
			c, err := catalog.New(ctx, catalog.Options{DB: db, Bus: n})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		a, b := replica(), replica()
		if err := a.PutUpstream(ctx, config.Upstream{Name: "up", BaseURL: "http://127.0.0.1:1/v1"}); err != nil {
			t.Fatal(err)
		}
		if err := a.PutModel(ctx, config.Model{Name: "general", Targets: []config.Target{{Upstream: "up"}}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for b.Demo() {
			if time.Since(start) > 10*time.Second {
				t.Fatal("the second replica never saw the new model")
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("change seen by the other replica after %v", time.Since(start))
		if got := modelNames(b); len(got) != 1 || got[0] != "general" {
			t.Fatalf("replica b models = %v", got)
		}
	})
}
