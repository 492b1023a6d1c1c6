package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/staff"
)

// upload posts a file as the upload form does: multipart, with the CSRF
// token (csrf "" leaves it out).
func (b *browser) upload(path, csrf, filename string, data []byte) (int, string) {
	b.f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("csrf", csrf)
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("file", filename)
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.f.url+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	st, _, page := b.send(req)
	return st, page
}

// TestKnowledgePages creates a knowledge base, uploads documents,
// searches them and grounds a route from the console as a policy editor;
// reads the result back through the admin API (the same service); checks
// refusals of bad input, of roles without kb.manage and of a missing CSRF
// token; and finds each change on the audit trail.
func TestKnowledgePages(t *testing.T) {
	f := newFixture(t, staff.Options{})
	f.member("pat", staff.RolePolicy)
	f.member("rita", staff.RoleReviewer)
	f.member("vic", staff.RoleViewer)
	f.member("ann", staff.RoleAuditor)
	f.member("root", staff.RoleAdmin)
	token := f.token("root")
	b := f.browser()
	if st := b.login("pat", password); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if _, _, page := b.do("GET", "/console/", nil); !strings.Contains(page, `href="/console/kb"`) {
		t.Error("the policy editor's nav lacks the knowledge page")
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", b.csrf)
		st, _, body := b.do("POST", path, form)
		return st, body
	}
	if st, body := post("/console/kb", url.Values{"name": {"clinic"}, "route": {"med"}, "description": {"门诊指南"}}); st != http.StatusSeeOther {
		t.Fatalf("create base: %d\n%s", st, body)
	}
	md := []byte("# 发热\n\n成人体温超过 38.5 摄氏度可服用对乙酰氨基酚，每次不超过 500 毫克。\n\n# Opening hours\n\nThe clinic opens at 8 am on weekdays and closes at 6 pm.\n")
	if st, body := b.upload("/console/kb/clinic/documents", b.csrf, "guide.md", md); st != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", st, body)
	}
	html := []byte("<html><body><h1>Vaccines</h1><p>Influenza vaccination is offered every October.</p><script>evil()</script></body></html>")
	if st, body := b.upload("/console/kb/clinic/documents", b.csrf, "vaccines.html", html); st != http.StatusSeeOther {
		t.Fatalf("upload html: %d\n%s", st, body)
	}
	_, _, page := b.do("GET", "/console/kb", nil)
	if !strings.Contains(page, `<a href="/console/kb/clinic">clinic</a></td><td>med</td>`) || !strings.Contains(page, "<td>2</td>") {
		t.Fatalf("knowledge page lacks the base with its route and 2 documents:\n%s", page)
	}
	_, _, page = b.do("GET", "/console/kb/clinic", nil)
	if !strings.Contains(page, "guide.md") || !strings.Contains(page, "vaccines.html") || !strings.Contains(page, `id="kb-upload"`) {
		t.Fatalf("base page lacks its documents or the upload form:\n%s", page)
	}

	// Search shows the top passages with scores, best first.
	st, _, page := b.do("GET", "/console/kb/clinic?q="+url.QueryEscape("clinic opens weekdays")+"&k=3", nil)
	if st != http.StatusOK || !strings.Contains(page, `id="kb-passages"`) || !strings.Contains(page, "8 am on weekdays") || !strings.Contains(page, `class="score"`) {
		t.Fatalf("search: %d\n%s", st, page)
	}
	if i, j := strings.Index(page, "8 am on weekdays"), strings.Index(page, "Influenza"); j >= 0 && j < i {
		t.Error("an unrelated passage ranks above the matching one")
	}
	if _, _, page = b.do("GET", "/console/kb/clinic?q="+url.QueryEscape("对乙酰氨基酚"), nil); !strings.Contains(page, "500 毫克") {
		t.Errorf("Chinese search misses the passage:\n%s", page)
	}
	for q, want := range map[string]int{"?q=x&k=0": http.StatusBadRequest, "?q=x&k=abc": http.StatusBadRequest, "?q=+": http.StatusBadRequest} {
		if st, _, page := b.do("GET", "/console/kb/clinic"+q, nil); st != want || !strings.Contains(page, `id="kb-error"`) {
			t.Errorf("search %s: %d, want %d with the reason", q, st, want)
		}
	}
	if st, _, _ := b.do("GET", "/console/kb/nowhere", nil); st != http.StatusNotFound {
		t.Errorf("a missing base: %d, want 404", st)
	}

	// Grounding settings: set, shown, read back through the admin API.
	if st, body := post("/console/grounding", url.Values{"route": {"med"}, "action": {"refuse"}, "top_k": {"6"}, "min_support": {"0.6"}}); st != http.StatusSeeOther {
		t.Fatalf("ground a route: %d\n%s", st, body)
	}
	_, _, page = b.do("GET", "/console/kb", nil)
	if !strings.Contains(page, "<td>med</td><td>拒答</td><td>6</td><td>0.6</td>") {
		t.Fatalf("the grounding is not shown:\n%s", page)
	}
	// The edit link fills the form with the route's settings.
	if _, _, page = b.do("GET", "/console/kb?edit=med", nil); !strings.Contains(page, `name="route" required value="med"`) ||
		!strings.Contains(page, `<option value="refuse" selected>`) || !strings.Contains(page, `name="top_k" type="number" min="1" max="20" placeholder="4" value="6"`) {
		t.Errorf("the edit form is not filled:\n%s", page)
	}
	var gs struct {
		Data []struct {
			Route      string  `json:"route"`
			Action     string  `json:"action"`
			TopK       int     `json:"top_k"`
			MinSupport float64 `json:"min_support"`
			UpdatedBy  string  `json:"updated_by"`
		} `json:"data"`
	}
	f.adminGet(t, token, "/admin/v1/grounding", &gs)
	if len(gs.Data) != 1 || gs.Data[0].Route != "med" || gs.Data[0].Action != "refuse" || gs.Data[0].TopK != 6 || gs.Data[0].MinSupport != 0.6 || gs.Data[0].UpdatedBy == "" {
		t.Fatalf("grounding through the admin API: %+v", gs.Data)
	}
	var bases struct {
		Data []struct {
			Name      string `json:"name"`
			Documents int    `json:"documents"`
			Chunks    int64  `json:"chunks"`
		} `json:"data"`
	}
	f.adminGet(t, token, "/admin/v1/kb", &bases)
	if len(bases.Data) != 1 || bases.Data[0].Documents != 2 || bases.Data[0].Chunks < 2 {
		t.Fatalf("bases through the admin API: %+v", bases.Data)
	}

	// Refused input: the page again with the reason, nothing saved.
	for name, c := range map[string]struct {
		path string
		form url.Values
		want string
	}{
		"bad name":          {"/console/kb", url.Values{"name": {"no spaces"}}, "未保存"},
		"existing name":     {"/console/kb", url.Values{"name": {"clinic"}}, "已有同名知识库"},
		"no route":          {"/console/grounding", url.Values{"action": {"annotate"}}, "请填写路由"},
		"bad action":        {"/console/grounding", url.Values{"route": {"med"}, "action": {"shout"}}, "动作须为"},
		"top_k too big":     {"/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}, "top_k": {"21"}}, "top_k"},
		"top_k not number":  {"/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}, "top_k": {"four"}}, "top_k"},
		"min_support > 1":   {"/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}, "min_support": {"1.5"}}, "min_support"},
		"min_support NaN":   {"/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}, "min_support": {"NaN"}}, "min_support"},
		"unground no route": {"/console/grounding/delete", url.Values{}, "请填写路由"},
	} {
		st, body := post(c.path, c.form)
		if st != http.StatusBadRequest || !strings.Contains(body, `id="kb-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want 400 with %q", name, st, c.want)
		}
	}
	for name, c := range map[string]struct {
		file string
		data []byte
		want string
	}{
		"no file":       {"", nil, "请选择要上传的文件"},
		"duplicate":     {"copy.md", md, "已包含这份文档"},
		"empty":         {"empty.txt", []byte("   \n"), "no text"},
		"not a PDF":     {"fake.pdf", []byte("this is not a pdf"), "未保存"},
		"invalid UTF-8": {"bad.txt", []byte{0xff, 0xfe, 0xfd, 'a'}, "未保存"},
	} {
		st, body := b.upload("/console/kb/clinic/documents", b.csrf, c.file, c.data)
		if st != http.StatusBadRequest || !strings.Contains(body, `id="kb-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("upload %s: %d, want 400 with %q\n%s", name, st, c.want, body)
		}
	}
	f.adminGet(t, token, "/admin/v1/grounding", &gs)
	f.adminGet(t, token, "/admin/v1/kb", &bases)
	if len(gs.Data) != 1 || gs.Data[0].Action != "refuse" || len(bases.Data) != 1 || bases.Data[0].Documents != 2 {
		t.Fatalf("a refused change was saved: %+v %+v", gs.Data, bases.Data)
	}
	// The same reason in English.
	b.do("POST", "/console/language", url.Values{"csrf": {b.csrf}, "lang": {"en"}, "next": {"/console/kb"}})
	if st, body := post("/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}, "top_k": {"0"}}); st != http.StatusBadRequest ||
		!strings.Contains(body, "top_k must be a whole number from 1 to 20") {
		t.Errorf("English reason: %d\n%s", st, body)
	}

	// A file over the document limit, and a form over the console's limit,
	// are answered 413 with the reason, and nothing is saved.
	if st, body := b.upload("/console/kb/clinic/documents", b.csrf, "huge.txt", bytes.Repeat([]byte("a "), 17<<20)); st != http.StatusRequestEntityTooLarge ||
		!strings.Contains(body, "size limit") {
		t.Errorf("upload over the limit: %d\n%s", st, body)
	}
	if st, _, body := b.do("POST", "/console/grounding", url.Values{"csrf": {b.csrf}, "route": {strings.Repeat("m", 5<<20)}}); st != http.StatusRequestEntityTooLarge ||
		!strings.Contains(body, "size limit") {
		t.Errorf("form over the limit: %d", st)
	}

	// Without the CSRF token nothing changes.
	if st, _ := b.upload("/console/kb/clinic/documents", "", "other.txt", []byte("other text")); st != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d, want 403", st)
	}
	if st, _, _ := b.do("POST", "/console/grounding", url.Values{"route": {"med"}, "action": {"annotate"}}); st != http.StatusForbidden {
		t.Errorf("grounding without CSRF: %d, want 403", st)
	}
	if st, _, _ := b.do("POST", "/console/kb/clinic/delete", url.Values{}); st != http.StatusForbidden {
		t.Errorf("remove without CSRF: %d, want 403", st)
	}

	// A reviewer, a viewer and an auditor are refused every change; the
	// auditor (kb.view) sees the pages and searches without the forms, the
	// others may not open them.
	for _, name := range []string{"rita", "vic", "ann"} {
		o := f.browser()
		if st := o.login(name, password); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, st)
		}
		for _, path := range []string{"/console/kb", "/console/kb/clinic/delete", "/console/kb/clinic/documents/1/delete", "/console/grounding", "/console/grounding/delete"} {
			if st, _, _ := o.do("POST", path, url.Values{"csrf": {o.csrf}, "name": {"x"}, "route": {"med"}, "action": {"annotate"}}); st != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", name, path, st)
			}
		}
		if st, _ := o.upload("/console/kb/clinic/documents", o.csrf, "x.txt", []byte("x")); st != http.StatusForbidden {
			t.Errorf("%s upload: %d, want 403", name, st)
		}
	}
	r := f.browser()
	r.login("ann", password)
	if st, _, page := r.do("GET", "/console/kb/clinic?q=vaccination", nil); st != http.StatusOK || strings.Contains(page, `id="kb-upload"`) ||
		strings.Contains(page, "/delete") || !strings.Contains(page, "Influenza") {
		t.Errorf("the auditor's base page: %d, offers forms or lacks the search:\n%s", st, page)
	}
	if _, _, page := r.do("GET", "/console/kb", nil); strings.Contains(page, `id="kb-form"`) || strings.Contains(page, `id="grounding-form"`) || !strings.Contains(page, "clinic") {
		t.Error("the auditor's knowledge page offers the forms or lacks the base")
	}
	r.login("rita", password)
	for _, path := range []string{"/console/kb", "/console/kb/clinic"} {
		if st, _, _ := r.do("GET", path, nil); st != http.StatusForbidden {
			t.Errorf("reviewer GET %s: %d, want 403", path, st)
		}
	}
	if st, _, _ := f.browser().do("GET", "/console/kb", nil); st != http.StatusSeeOther {
		t.Errorf("without a session: %d, want the login redirect", st)
	}

	// Removing a document, ungrounding, removing the base.
	var detail struct {
		DocumentList []struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
		} `json:"document_list"`
	}
	f.adminGet(t, token, "/admin/v1/kb/clinic", &detail)
	var htmlID string
	for _, d := range detail.DocumentList {
		if d.Title == "vaccines.html" {
			htmlID = strconv.FormatInt(d.ID, 10)
		}
	}
	if st, body := post("/console/kb/clinic/documents/"+htmlID+"/delete", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("remove document: %d\n%s", st, body)
	}
	if st, _ := post("/console/kb/clinic/documents/"+htmlID+"/delete", url.Values{}); st != http.StatusNotFound {
		t.Errorf("remove it again: %d, want 404", st)
	}
	if _, _, page = b.do("GET", "/console/kb/clinic?q=vaccination", nil); strings.Contains(page, "Influenza") {
		t.Error("a removed document is still found")
	}
	if st, body := post("/console/grounding/delete", url.Values{"route": {"med"}}); st != http.StatusSeeOther {
		t.Fatalf("unground: %d\n%s", st, body)
	}
	if st, body := post("/console/kb/clinic/delete", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("remove base: %d\n%s", st, body)
	}
	f.adminGet(t, token, "/admin/v1/grounding", &gs)
	f.adminGet(t, token, "/admin/v1/kb", &bases)
	if len(gs.Data) != 0 || len(bases.Data) != 0 {
		t.Fatalf("after removal: %+v %+v", gs.Data, bases.Data)
	}

	// Every change and refusal is on the trail with what it named.
	seen := f.staffActions(t)
	for _, want := range []string{
		"pat console POST /console/kb ok kb=clinic",
		"pat console POST /console/kb/{name}/documents ok kb=clinic document=guide.md document_id=1",
		"pat console POST /console/grounding ok route=med action=refuse top_k=6 min_support=0.6",
		"pat console POST /console/grounding failed route=med action=shout",
		"pat console POST /console/kb/{name}/documents/{id}/delete ok kb=clinic document_id=" + htmlID,
		"pat console POST /console/grounding/delete ok route=med",
		"pat console POST /console/kb/{name}/delete ok kb=clinic",
		"pat console POST /console/kb/{name}/documents denied",
		"pat console POST /console/kb/{name}/documents failed", // over the size limit
		"pat console POST /console/grounding failed",
		"rita console POST /console/grounding denied",
		"vic console POST /console/kb/{name}/documents denied",
		"ann console POST /console/grounding denied",
		"rita console GET /console/kb/{name} denied",
	} {
		if !seen[want] {
			t.Errorf("no staff action %q on the trail", want)
		}
	}
	if t.Failed() {
		for k := range seen {
			t.Log(k)
		}
	}
}
