package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/internal/syncbuf"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// TestPersonalDataNeverPlain plants a marker, a mobile number and an ID
// number in everything a user, an app or a staff member can send —
// prompts (whole and streamed, clean and refused), answers, bad and
// oversized bodies, an upstream's error, complaints and their contacts,
// appeals, identity verification, a failed console login, a request id —
// then erases the user's data on request, and looks for them in the
// server's log and in every file of its database (SQLite, its WAL), or
// every row of every table (PostgreSQL). None may be there in plain text.
func TestPersonalDataNeverPlain(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { personalDataNeverPlain(t, db) })
	}
}

func personalDataNeverPlain(t *testing.T, db string) {
	const (
		marker = "QUOKKA-MARKER-5d1e"
		phone  = "13912345678"
		idNum  = "11010519491231002X"
	)
	secret := marker + " call " + phone + " id " + idNum
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		last := ""
		if len(req.Messages) > 0 {
			last = req.Messages[len(req.Messages)-1].Content
		}
		switch {
		case strings.Contains(last, "upstream-error"):
			return fakeupstream.Reply{Status: 400, ErrorMessage: "prompt too long: " + secret}
		case strings.Contains(last, "stream-error"): // an error event after some text
			return fakeupstream.Reply{Raw: []string{
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"partial "}}]}`,
				`{"error":{"message":"backend failed on ` + secret + `","type":"server_error"}}`}}
		}
		return fakeupstream.Reply{Text: "the answer repeats " + marker + " for you"}
	}})
	t.Cleanup(up.Close)
	cfg, data := memoryConfig(t, up.URL, "routing: {general: general}\n"), t.TempDir()
	args := []string{"--data", data, "--config", cfg, "--log-level", "debug", "--log-format", "json"}
	dsn := ""
	if db == "postgres" {
		dsn = storetest.PostgresDSN(t)
		args = append(args, "--database", dsn)
	}
	logs := &syncbuf.Buffer{}
	s := startServerLogged(t, logs, args...)

	// A key of one end user, as an app gives its users.
	key := userKey(t, s, "u1")
	msg := func(text string, stream bool) string {
		b, _ := json.Marshal(map[string]any{"model": "general", "stream": stream, "user": "u1",
			"messages": []map[string]string{{"role": "user", "content": text}}})
		return string(b)
	}
	for _, body := range []string{
		msg("hello "+secret, false),
		msg("hello "+secret, true),
		msg("教我制作炸弹 "+secret, false), // refused: flagged content is kept sealed
		msg("upstream-error "+secret, false),
		msg("upstream-error "+secret, true),
		msg("stream-error "+secret, true),
		`{"model":"general","messages":[{"role":"user","content":"` + secret + `"}]`, // cut short
		`{"model":"general","` + secret + `":1,"` + secret + `":2,"messages":[]}`,    // duplicate key
		`{"model":"` + secret + `","messages":[{"role":"user","content":"hi"}]}`,     // unknown model
		msg(strings.Repeat(secret+" ", 200000), false),                               // over the body limit
	} {
		resp, b := s.chat(t, key, body)
		if resp.StatusCode == 200 && strings.Contains(body, "upstream-error") {
			t.Errorf("the upstream's error was answered 200: %s", b)
		}
	}

	s.apiCall(t, "POST", "/v1/embeddings", key, `{"model":"general","input":"`+secret+`"}`)

	// Complaint, appeal, identity verification.
	s.apiCall(t, "POST", "/v1/complaints", key, `{"category":"personal_data","text":"`+secret+`","contact":"`+phone+`"}`)
	s.apiCall(t, "POST", "/v1/complaints", key, `{"category":"other","text":"about that answer","request_id":"`+secret+`"}`)
	var sanction struct{ ID string }
	json.Unmarshal([]byte(s.apiCall(t, "POST", "/admin/v1/tenants/default/users/u1/sanctions", s.admin,
		`{"action":"warn","reason":"test"}`)), &sanction)
	if sanction.ID == "" {
		t.Fatal("no sanction to appeal")
	}
	if got := s.apiCall(t, "POST", "/v1/appeals", key, `{"sanction_id":"`+sanction.ID+`","text":"`+secret+`"}`); !strings.Contains(got, `"appeal"`) {
		t.Fatalf("appeal: %s", got)
	}
	s.apiCall(t, "POST", "/v1/identity/phone/start", key, `{"user":"u1","phone":"`+phone+`"}`)
	s.apiCall(t, "POST", "/v1/identity/phone/confirm", key, `{"user":"u1","phone":"`+phone+`","code":"000000"}`)
	s.apiCall(t, "POST", "/v1/identity/id_document", key, `{"user":"u1","name":"`+marker+`","id_number":"`+idNum+`"}`)

	// A password typed into the name field of the console's login, and a
	// request id made of personal data on an admin call.
	consoleLogin(t, s.url, secret, "wrong")
	req, _ := http.NewRequest("POST", s.url+"/admin/v1/tenants/default/users/u1/sanctions", strings.NewReader(`{"action":"warn","reason":"r"}`))
	req.Header.Set("Authorization", "Bearer "+s.admin)
	req.Header.Set("X-Request-Id", secret)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// The user asks for their data to be erased.
	if got := s.apiCall(t, "DELETE", "/admin/v1/tenants/default/users/u1/records", s.admin, ""); !strings.Contains(got, "erased") {
		t.Fatalf("erase: %s", got)
	}
	s.stop(t)

	shown := map[string]string{"log": logs.String()}
	if dsn == "" {
		databaseFiles(t, data, shown)
	} else {
		databaseRows(t, dsn, shown)
	}
	for where, text := range shown {
		for name, v := range map[string]string{"marker": marker, "phone": phone, "ID number": idNum} {
			for i, n := 0, 0; n < 8; n++ {
				j := strings.Index(text[i:], v)
				if j < 0 {
					break
				}
				i += j
				t.Errorf("%s holds the %s in plain text: …%q…", where, name, text[max(i-60, 0):min(i+60, len(text))])
				i += len(v)
			}
		}
	}
	if !strings.Contains(shown["log"], `"request"`) || dsn != "" && !strings.Contains(shown["table audit_records"], "staff:alice") {
		t.Error("what was scanned is not what it should be")
	}
}

// consoleLogin posts the console's login form as a browser would.
func consoleLogin(t *testing.T, base, name, password string) {
	t.Helper()
	resp, err := http.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page := new(strings.Builder)
	_, _ = io.Copy(page, resp.Body)
	resp.Body.Close()
	var bound string
	for _, c := range resp.Cookies() {
		if c.Name == "fb_login" {
			bound = c.Value
		}
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.String())
	if m == nil || bound == "" {
		t.Fatal("no login form")
	}
	req, _ := http.NewRequest("POST", base+"/console/login", strings.NewReader(url.Values{
		"csrf": {m[1]}, "name": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "fb_login", Value: bound})
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// TestErasureLeavesNothing makes an access and a deletion request (Art. 11)
// the way an operator would, for a user who chatted, complained, appealed
// a sanction and verified an ID number, and on whose review items a
// reviewer wrote notes and corrected answers: the access request's answer
// holds what they wrote; after the deletion request, what is left: the
// records' content, the complaint's text and contact, the appeal's text,
// the reviewer's notes and corrected answers and the verification must
// all be gone, in the API's answers and in the
// database's rows.
func TestErasureLeavesNothing(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	cfg, data := memoryConfig(t, up.URL, "routing: {general: general}\n"), t.TempDir()
	s := startServer(t, "--data", data, "--config", cfg)
	key := userKey(t, s, "u1")
	if resp, b := s.chat(t, key, `{"model":"general","messages":[{"role":"user","content":"教我制作炸弹"}]}`); resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	var complaint, appeal, sanction struct{ ID string }
	json.Unmarshal([]byte(s.apiCall(t, "POST", "/v1/complaints", key,
		`{"category":"personal_data","text":"my complaint","contact":"13912345678"}`)), &complaint)
	json.Unmarshal([]byte(s.apiCall(t, "POST", "/admin/v1/tenants/default/users/u1/sanctions", s.admin,
		`{"action":"warn","reason":"test"}`)), &sanction)
	json.Unmarshal([]byte(s.apiCall(t, "POST", "/v1/appeals", key,
		`{"sanction_id":"`+sanction.ID+`","text":"my appeal"}`)), &appeal)
	verified := s.apiCall(t, "POST", "/v1/identity/id_document", key, `{"user":"u1","name":"Li","id_number":"11010519491231002X"}`)
	if complaint.ID == "" || appeal.ID == "" || !strings.Contains(verified, `"id_document"`) {
		t.Fatalf("set-up: complaint %q, appeal %q, verification %s", complaint.ID, appeal.ID, verified)
	}
	// A reviewer writes a note and a corrected answer on each of the
	// user's items at the desk, through the console.
	desk, notes := reviewAtConsole(t, s, "my note on", "my corrected answer to")
	if len(notes) == 0 {
		t.Fatal("set-up: no review item of the user to write on")
	}
	// The access request hands over all of it.
	access := s.apiCall(t, "GET", "/admin/v1/tenants/default/users/u1/records", s.admin, "")
	for _, want := range []string{"教我制作炸弹", "my complaint", "13912345678", "my appeal"} {
		if !strings.Contains(access, want) {
			t.Errorf("the access request's answer lacks %q: %s", want, access)
		}
	}

	if resp, b := s.chat(t, s.key, `{"model":"general","user":"u2","messages":[{"role":"user","content":"someone else"}]}`); resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	sealed := sealedTexts(t, data)
	erased := s.apiCall(t, "DELETE", "/admin/v1/tenants/default/users/u1/records", s.admin, "")
	if !strings.Contains(erased, `"erased"`) {
		t.Fatalf("erase: %s", erased)
	}
	for _, item := range notes {
		page := desk.get(t, "/console/review/items/"+item)
		if strings.Contains(page, "my note on") || strings.Contains(page, "my corrected answer to") {
			t.Errorf("after erasure the review item %s still shows the reviewer's text", item)
		}
	}
	for what, got := range map[string]string{
		"the complaint":    s.apiCall(t, "GET", "/admin/v1/complaints/"+complaint.ID, s.admin, ""),
		"the appeal":       s.apiCall(t, "GET", "/v1/appeals/"+appeal.ID, key, ""),
		"the verification": s.apiCall(t, "GET", "/v1/identity/users/u1", key, ""),
		"the records":      s.apiCall(t, "GET", "/admin/v1/tenants/default/users/u1/records", s.admin, ""),
	} {
		for _, left := range []string{"my complaint", "13912345678", "my appeal", `"id_document"`, "炸弹"} {
			if strings.Contains(got, left) {
				t.Errorf("after erasure %s still shows %q: %s", what, left, got)
			}
		}
	}
	s.stop(t)
	db, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM audit_complaints WHERE text <> '' OR contact <> ''`:   0,
		`SELECT COUNT(*) FROM review_appeals WHERE text <> ''`:                      0,
		`SELECT COUNT(*) FROM review_decisions WHERE note <> '' OR corrected <> ''`: 0,
		`SELECT COUNT(*) FROM identity_states`:                                      0,
		`SELECT COUNT(*) FROM audit_records WHERE content <> ''`:                    1, // u2's
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", q, n, err, want)
		}
	}
	// Nor in the free space of the file: the keyring would still open it.
	files := map[string]string{}
	databaseFiles(t, data, files)
	for name, text := range files {
		for _, v := range sealed {
			if strings.Contains(text, v) {
				t.Errorf("%s still holds erased ciphertext %s", name, v)
			}
		}
	}
	// The erasure verifies; content emptied in the database by hand does not.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data", data}, &out, io.Discard); err != nil {
		t.Fatalf("verify after the erasure: %v\n%s", err, out.String())
	}
	if _, err := db.Exec(`UPDATE audit_records SET content = '', content_erased_at = 1 WHERE content <> ''`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "verify", "--data", data}, &out, io.Discard); err == nil ||
		!strings.HasSuffix(err.Error(), ": erased") {
		t.Fatalf("content erased by hand: %v\n%s", err, out.String())
	}
}

// reviewAtConsole logs a reviewer into the console and, on every open
// item of the queue, writes a note and a corrected answer (each starting
// with note and corrected) and escalates it. It returns the reviewer's
// console and the items.
func reviewAtConsole(t *testing.T, s *server, note, corrected string) (*consoleClient, []string) {
	t.Helper()
	if got := s.apiCall(t, "POST", "/admin/v1/staff", s.admin,
		`{"name":"rita","role":"reviewer","password":"a long password 1"}`); !strings.Contains(got, `"member"`) {
		t.Fatalf("create reviewer: %s", got)
	}
	jar, _ := cookiejar.New(nil)
	c := &consoleClient{url: s.url, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	login := c.get(t, "/console/login")
	c.post(t, "/console/login", login, url.Values{"name": {"rita"}, "password": {"a long password 1"}})
	var items []string
	for range 10 {
		queue := c.get(t, "/console/review")
		to := c.post(t, "/console/review/next", queue, url.Values{})
		m := regexp.MustCompile(`/console/review/items/([^?]+)\?lease=([^&]+)`).FindStringSubmatch(to)
		if m == nil {
			break
		}
		page := c.get(t, "/console/review/items/"+m[1]+"?lease="+m[2])
		n := strconv.Itoa(len(items))
		if to := c.post(t, "/console/review/items/"+m[1]+"/decide", page, url.Values{"lease": {m[2]},
			"verdict": {"escalate"}, "note": {note + " " + n}, "corrected": {corrected + " " + n}}); !strings.Contains(to, "flash=review.decided") {
			t.Fatalf("decide %s: redirected to %q", m[1], to)
		}
		items = append(items, m[1])
	}
	return c, items
}

// consoleClient is a browser's session on the console, without script.
type consoleClient struct {
	url  string
	http *http.Client
}

// get reads a console page.
func (c *consoleClient) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := c.http.Get(c.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// post posts a form with the CSRF token of page and returns where the
// answer redirects to.
func (c *consoleClient) post(t *testing.T, path, page string, form url.Values) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page before %s", path)
	}
	form.Set("csrf", m[1])
	resp, err := c.http.PostForm(c.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// userKey creates an API key of the default tenant that belongs to one
// end user, as an app gives its users.
func userKey(t *testing.T, s *server, user string) string {
	t.Helper()
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(s.apiCall(t, "POST", "/admin/v1/tenants/default/keys", s.admin,
		`{"name":"`+user+`","end_user":"`+user+`"}`)), &key); err != nil || key.Key == "" {
		t.Fatalf("user key: %v", err)
	}
	return key.Key
}

// databaseRows adds the text of every row of every table of the
// PostgreSQL schema dsn names to shown, as "table NAME".
func databaseRows(t *testing.T, dsn string, shown map[string]string) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("tables: %v", tables)
	}
	for _, table := range tables {
		var text sql.NullString
		if err := db.QueryRow(`SELECT string_agg(t::text, E'\n') FROM "` + table + `" t`).Scan(&text); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		shown["table "+table] = text.String
	}
}

// TestViewsOfPersonalDataAreRecorded reads complaints (text and contact,
// decrypted) through the admin API as a staff member would, and looks for
// the record of each view on the audit trail.
func TestViewsOfPersonalDataAreRecorded(t *testing.T) {
	s := startServer(t, "--data", t.TempDir())
	var c struct{ ID string }
	json.Unmarshal([]byte(s.apiCall(t, "POST", "/v1/complaints", s.key,
		`{"category":"personal_data","text":"my complaint","contact":"13912345678"}`)), &c)
	for _, path := range []string{"/admin/v1/complaints", "/admin/v1/complaints/" + c.ID} {
		if got := s.apiCall(t, "GET", path, s.admin, ""); !strings.Contains(got, "13912345678") {
			t.Fatalf("%s: %s", path, got)
		}
	}
	trail := s.apiCall(t, "GET", "/admin/v1/audit?kind=staff&limit=1000", s.admin, "")
	for _, view := range []string{`"model":"GET /admin/v1/complaints"`, `"model":"GET /admin/v1/complaints/{id}"`} {
		if !strings.Contains(trail, view) {
			t.Errorf("no record of %s on the trail:\n%s", view, trail)
		}
	}
}

// sealedTexts reads, from the running server's SQLite database, a piece
// of the ciphertext of every complaint text, appeal text and sealed
// record content.
func sealedTexts(t *testing.T, data string) []string {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT text FROM audit_complaints UNION ALL SELECT text FROM review_appeals
		UNION ALL SELECT content FROM audit_records WHERE content LIKE 'aesgcm:%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if i := strings.LastIndex(v, ":"); i >= 0 {
			v = v[i+1:]
		}
		if len(v) >= 24 {
			out = append(out, v[:24])
		}
	}
	if len(out) < 3 {
		t.Fatalf("sealed texts: %q", out)
	}
	return out
}
