package label_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/label"
)

// TestSignGolden holds ReservedCode1 to its documented format, byte for
// byte: a label signed by any version of Firebreak verifies with any other.
// Ed25519 signatures are deterministic, so a fixed key and label give a
// fixed value.
func TestSignGolden(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	a := label.AIGC{Label: label.Generated, ContentProducer: "firebreak", ProduceID: "01JABCDEFGHJKMNPQRSTVWXYZ0",
		ContentPropagator: "acme", PropagateID: "req_1", ReservedCode2: "x"}
	got := label.NewSigner(priv).Sign(a, "你好，这是一个回答。").ReservedCode1
	const want = "FB1.fe812c12f3ab4ce6.8e26f2b46b8601309bae822bdfe72d71.zBY-PX_DIlXYZh9ayMskyzDI4SdULCoLK-MztUv6wmk2hcD67UQyfJuHtTUV2CQE6uXr-S7whWZVmbMvOl4WBg"
	if got != want {
		t.Errorf("ReservedCode1 = %q\nwant %q", got, want)
	}
}

// recordCases are label records as the gateway keeps them, and with
// values that need escaping in JSON.
func recordCases() []label.Record {
	a := label.AIGC{Label: label.Generated, ContentProducer: "firebreak", ProduceID: "01JABCDEFGHJKMNPQRSTVWXYZ0",
		ReservedCode1: "FB1.0123456789abcdef.x.y", ContentPropagator: "acme", PropagateID: "req_1"}
	return []label.Record{
		{AIGC: a, TextSHA256: label.TextHash("hi"), Explicit: "end"},
		{AIGC: a, TextSHA256: label.TextHash(""), Explicit: "none", Omitted: "json"},
		{AIGC: a, TextSHA256: "<&>", Explicit: "start\n", Omitted: "\"q\" 你好",
			Unlabelled: &label.Unlabelled{Recipient: "user <1> & \"2\"\n", Agreement: "agr-1"}},
		{},
	}
}

// TestRecordAppendJSON holds the record's encoder to json.Marshal's
// bytes, so the audit trail's records read and hash as before.
func TestRecordAppendJSON(t *testing.T) {
	for i, r := range recordCases() {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d: AppendJSON = %s, %v\nwant %s", i, got, err, want)
		}
		got, err = r.AppendJSON([]byte("x"), r.AIGC.AppendJSON(nil))
		if err != nil || !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("case %d, label's JSON given: AppendJSON = %s, %v", i, got, err)
		}
	}
	bad := recordCases()[0]
	bad.AIGC.ContentProducer = "a\"b"
	if _, err := json.Marshal(bad); err == nil {
		t.Fatal("json.Marshal accepted an invalid label")
	}
	if b, err := bad.AppendJSON(nil, nil); err == nil {
		t.Errorf("AppendJSON accepted an invalid label: %s", b)
	}
}

// FuzzRecordAppendJSON checks the record's encoder against json.Marshal
// for any values.
func FuzzRecordAppendJSON(f *testing.F) {
	for _, r := range recordCases() {
		u := r.Unlabelled
		if u == nil {
			u = &label.Unlabelled{}
		}
		f.Add(r.AIGC.ContentProducer, r.TextSHA256, r.Explicit, r.Omitted, u.Recipient, r.Unlabelled != nil)
	}
	f.Fuzz(func(t *testing.T, producer, hash, explicit, omitted, recipient string, unlabelled bool) {
		r := label.Record{AIGC: label.AIGC{Label: "1", ContentProducer: producer}, TextSHA256: hash, Explicit: explicit, Omitted: omitted}
		if unlabelled {
			r.Unlabelled = &label.Unlabelled{Recipient: recipient, Agreement: producer}
		}
		want, werr := json.Marshal(r)
		got, gerr := r.AppendJSON(nil, nil)
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON = %s, %v; json.Marshal = %s, %v", got, gerr, want, werr)
		}
	})
}

// TestTextHash holds TextHash to the hex SHA-256 of the text at lengths
// around its buffer's.
func TestTextHash(t *testing.T) {
	for _, n := range []int{0, 1, 2047, 2048, 2049, 4096, 10000} {
		text := strings.Repeat("回", n/3+1)[:n]
		sum := sha256.Sum256([]byte(text))
		if got := label.TextHash(text); got != hex.EncodeToString(sum[:]) {
			t.Errorf("%d bytes: TextHash = %s", n, got)
		}
	}
}
