package admin_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestKnowledgeBaseAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, err := kb.New(context.Background(), kb.Options{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		c := newAPIWith(t, db, func(o *admin.Options) { o.KB = svc })
		policyMember := c.member("pat", staff.RolePolicy)
		auditor := c.member("aud", staff.RoleAuditor)
		reviewer := c.member("rev", staff.RoleReviewer)
		doc := base64.StdEncoding.EncodeToString([]byte("# 退款\n\n未拆封商品三十天内可全额退款。礼品卡不支持退款。"))
		steps := []struct {
			name   string
			as     client
			method string
			path   string
			body   string
			status int
			check  func(map[string]any) bool
		}{
			{"reviewer may not create", reviewer, "POST", "/admin/v1/kb", `{"name":"shop"}`, 403, nil},
			{"create", policyMember, "POST", "/admin/v1/kb", `{"name":"shop","route":"shop-bot","description":"refunds"}`, 201,
				func(m map[string]any) bool { return m["created_by"] == "pat" }},
			{"bad name", c, "POST", "/admin/v1/kb", `{"name":"a b"}`, 400, nil},
			{"twice", c, "POST", "/admin/v1/kb", `{"name":"shop"}`, 409, nil},
			{"unknown field", c, "POST", "/admin/v1/kb", `{"nam":"x"}`, 400, nil},
			{"add document", policyMember, "POST", "/admin/v1/kb/shop/documents", `{"title":"退款.md","data":"` + doc + `"}`, 201,
				func(m map[string]any) bool { return m["format"] == "markdown" && m["chunks"].(float64) == 1 }},
			{"auditor may not add", auditor, "POST", "/admin/v1/kb/shop/documents", `{"title":"x.txt","data":"eA=="}`, 403, nil},
			{"document not base64", c, "POST", "/admin/v1/kb/shop/documents", `{"title":"x.txt","data":"%%%"}`, 400, nil},
			{"unreadable pdf", c, "POST", "/admin/v1/kb/shop/documents", `{"title":"x.pdf","data":"eA=="}`, 400, nil},
			{"document of no base", c, "POST", "/admin/v1/kb/none/documents", `{"title":"x.txt","data":"eA=="}`, 404, nil},
			{"auditor lists", auditor, "GET", "/admin/v1/kb", "", 200, func(m map[string]any) bool { return len(m["data"].([]any)) == 1 }},
			{"detail", auditor, "GET", "/admin/v1/kb/shop", "", 200, func(m map[string]any) bool { return len(m["document_list"].([]any)) == 1 }},
			{"search", auditor, "GET", "/admin/v1/kb/shop/search?q=%E7%A4%BC%E5%93%81%E5%8D%A1%E8%83%BD%E9%80%80%E5%90%97&k=2", "", 200,
				func(m map[string]any) bool { return len(m["data"].([]any)) == 1 }},
			{"search without query", auditor, "GET", "/admin/v1/kb/shop/search", "", 400, nil},
			{"search bad k", auditor, "GET", "/admin/v1/kb/shop/search?q=x&k=0", "", 400, nil},
			{"reviewer may not read", reviewer, "GET", "/admin/v1/kb", "", 403, nil},
			{"ground", policyMember, "PUT", "/admin/v1/grounding/shop-bot", `{"action":"refuse","top_k":3}`, 200,
				func(m map[string]any) bool {
					return m["action"] == "refuse" && m["min_support"].(float64) == support.DefaultMinSupport
				}},
			{"bad action", c, "PUT", "/admin/v1/grounding/shop-bot", `{"action":"yell"}`, 400, nil},
			{"groundings", auditor, "GET", "/admin/v1/grounding", "", 200, func(m map[string]any) bool { return len(m["data"].([]any)) == 1 }},
			{"auditor may not unground", auditor, "DELETE", "/admin/v1/grounding/shop-bot", "", 403, nil},
			{"unground", c, "DELETE", "/admin/v1/grounding/shop-bot", "", 204, nil},
			{"bad document id", c, "DELETE", "/admin/v1/kb/shop/documents/x", "", 400, nil},
			{"unknown document", c, "DELETE", "/admin/v1/kb/shop/documents/999", "", 404, nil},
			{"remove", c, "DELETE", "/admin/v1/kb/shop", "", 204, nil},
			{"removed", c, "GET", "/admin/v1/kb/shop", "", 404, nil},
		}
		for _, s := range steps {
			status, body := s.as.call(s.method, s.path, s.body)
			if status != s.status {
				t.Fatalf("%s: status %d, want %d (%v)", s.name, status, s.status, body)
			}
			if s.check != nil && !s.check(body) {
				t.Fatalf("%s: unexpected body %v", s.name, body)
			}
		}
		if _, ok := svc.GroundingOf("shop-bot"); ok {
			t.Error("route still grounded")
		}
	})
}
