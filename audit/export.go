package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// exportPage is how many records Export reads per query.
const exportPage = 1000

// csvHeader names the CSV columns, one row per record. Hits are not
// flattened: the codes column lists every risk code of the record.
var csvHeader = []string{"seq", "id", "request_id", "time", "tenant_id", "key_id", "end_user",
	"model", "route", "upstream", "stream", "input_action", "input_code", "output_action",
	"output_code", "codes", "policy_version", "sanctions", "total_ms", "upstream_first_byte_ms",
	"prompt_tokens", "completion_tokens", "total_tokens", "status", "outcome",
	"content_mode", "content_digest", "content_erased_at", "prev_hash", "hash"}

// Export writes every record matching q (ignoring q.Limit), in chain order
// and without content, to w as "jsonl" (one Entry per line) or "csv" (a
// header row, then one row per record; cells that a spreadsheet would run
// as a formula are prefixed with a quote).
func (t *Trail) Export(ctx context.Context, w io.Writer, q Query, format string) error {
	var write func(Entry) error
	var flush func() error
	switch format {
	case "jsonl":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		write = func(e Entry) error { return enc.Encode(e) }
		flush = func() error { return nil }
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		write = func(e Entry) error { return cw.Write(csvRow(e)) }
		flush = func() error { cw.Flush(); return cw.Error() }
	default:
		return fmt.Errorf("audit export: format %q: want jsonl or csv", format)
	}
	q.Limit = exportPage
	for {
		page, err := search(ctx, t.db.Read(), q)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		for _, e := range page {
			if err := write(e); err != nil {
				return fmt.Errorf("audit export: %w", err)
			}
		}
		if len(page) < exportPage {
			break
		}
		q.After = page[len(page)-1].ID
	}
	if err := flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}

func csvRow(e Entry) []string {
	erased := ""
	if !e.Stored.ErasedAt.IsZero() {
		erased = e.Stored.ErasedAt.Format(time.RFC3339Nano)
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	row := []string{i64(e.Seq), e.ID, e.RequestID, e.Time.Format(time.RFC3339Nano), e.TenantID, e.KeyID,
		e.EndUser, e.Model, e.Route, e.Upstream, strconv.FormatBool(e.Stream), e.Input.Action.String(),
		e.Input.Code, e.Output.Action.String(), e.Output.Code, strings.Join(recordCodes(e.Record), " "),
		e.PolicyVersion, strings.Join(e.Sanctions, " "), i64(e.Timings.TotalMs),
		i64(e.Timings.UpstreamFirstByteMs), i64(e.Usage.Prompt), i64(e.Usage.Completion),
		i64(e.Usage.Total), strconv.Itoa(e.Status), e.Outcome, string(e.Stored.Mode), e.Stored.Digest,
		erased, e.PrevHash, e.Hash}
	for i, c := range row {
		row[i] = csvSafe(c)
	}
	return row
}

func recordCodes(r Record) []string { return strings.Fields(codeList(&r)) }

// csvSafe defuses cells a spreadsheet would evaluate as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
