package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/store"
)

func newLabelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Export answers with their AI-generated labels and verify labels (works on the database directly)",
		Long: `Every answer carries an implicit label, the AIGC object of GB 45438-2025, whose
ProduceID is the answer's audit record and whose ReservedCode1 is a signature,
with the audit signing key, of the other fields and of the text as delivered.

"label export" writes an answer as Markdown (the AIGC object as YAML front
matter) or DOCX (the AIGC custom property in docProps/custom.xml), keeping the
explicit label. "label verify" says whether a label and its text are genuine,
which of them was altered, or that it cannot tell; it checks the audit record
too when the database is at hand.`,
	}
	cfgOf := offlineFlags(cmd)
	cmd.AddCommand(labelExportCmd(cfgOf), labelVerifyCmd(cfgOf), labelPublicKeyCmd(cfgOf))
	return cmd
}

func labelPublicKeyCmd(cfgOf func() (config.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "public-key",
		Short: "Print the public key that verifies labels (and audit checkpoints), for whoever checks them elsewhere",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cfgOf()
			if err != nil {
				return err
			}
			pubs, err := verifyKeys(cfg, nil)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), audit.FormatPublicKey(pubs[0]))
			return err
		},
	}
}

// textFlags are the ways to give an answer's text.
type textFlags struct{ text, file string }

func (f *textFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.text, "text", "", "the answer's text as delivered")
	cmd.Flags().StringVar(&f.file, "text-file", "", "file holding the answer's text as delivered")
}

// get returns the text given, and whether one was.
func (f *textFlags) get() (string, bool, error) {
	switch {
	case f.text != "" && f.file != "":
		return "", false, errors.New("give --text or --text-file, not both")
	case f.file != "":
		b, err := readInputFile(f.file, maxLabelInput, "label verify")
		return string(b), err == nil, err
	}
	return f.text, f.text != "", nil
}

func labelExportCmd(cfgOf func() (config.Config, error)) *cobra.Command {
	var tf textFlags
	var format, out, lbl, response string
	cmd := &cobra.Command{
		Use:   "export [RECORD_ID]",
		Short: "Write an answer as Markdown or DOCX with its labels",
		Long: `Write an answer with its labels: from its audit record (the text given with
--text or --text-file, or the record's own content when it was kept encrypted),
or from a chat completion saved as JSON (--response). The text must be the one
the record's label covers. The explicit label is kept; when the text has none
(a JSON-mode answer, say) the export adds one after it (--label, default the
standard label in the text's language).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a label.AIGC
			var text string
			var err error
			switch {
			case response != "" && len(args) == 0:
				a, text, err = fromResponse(response)
			case response == "" && len(args) == 1:
				a, text, err = fromRecord(cmd.Context(), cfgOf, args[0], &tf)
			default:
				return errors.New("give a record id or --response FILE")
			}
			if err != nil {
				return err
			}
			var doc []byte
			switch format {
			case "md", "markdown":
				doc, err = label.Markdown(a, text, lbl)
			case "docx":
				doc, err = label.DOCX(a, text, lbl, time.Now())
			default:
				return fmt.Errorf("--format %q: want md or docx", format)
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(doc)
				return err
			}
			return os.WriteFile(out, doc, 0o600)
		},
	}
	tf.bind(cmd)
	cmd.Flags().StringVar(&format, "format", "md", "md or docx")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default stdout)")
	cmd.Flags().StringVar(&lbl, "label", "", "explicit label to add when the text has none (default: the standard label in the text's language)")
	cmd.Flags().StringVar(&response, "response", "", "a chat completion saved as JSON, instead of a record")
	return cmd
}

// fromRecord reads an answer's label from its audit record, and its text
// from the flags or the record's decrypted content.
func fromRecord(ctx context.Context, cfgOf func() (config.Config, error), id string, tf *textFlags) (label.AIGC, string, error) {
	cfg, err := cfgOf()
	if err != nil {
		return label.AIGC{}, "", err
	}
	db, err := openExisting(ctx, cfg)
	if err != nil {
		return label.AIGC{}, "", err
	}
	defer db.Close()
	e, err := audit.Lookup(ctx, db, id, contentKeys(cfg))
	if err != nil {
		return label.AIGC{}, "", err
	}
	if len(e.Label) == 0 {
		return label.AIGC{}, "", fmt.Errorf("record %s carries no label (no answer was delivered, or it predates labelling)", id)
	}
	rec, err := label.ParseRecord(e.Label)
	if err != nil {
		return label.AIGC{}, "", err
	}
	text, given, err := tf.get()
	switch {
	case err != nil:
		return label.AIGC{}, "", err
	case !given && e.Content.Answer == "" && rec.TextSHA256 != label.TextHash(""):
		return label.AIGC{}, "", fmt.Errorf("record %s keeps no readable answer (content %s): give the text with --text or --text-file", id, e.Stored.Mode)
	case !given:
		text = e.Content.Answer
	}
	if label.TextHash(text) != rec.TextSHA256 {
		return label.AIGC{}, "", fmt.Errorf("the text is not the answer record %s delivered (its SHA-256 differs)", id)
	}
	return rec.AIGC, text, nil
}

// fromResponse reads a chat completion saved as JSON: its AIGC member and
// the text of its choices.
func fromResponse(path string) (label.AIGC, string, error) {
	b, err := readInputFile(path, maxLabelInput, "label verify")
	if err != nil {
		return label.AIGC{}, "", err
	}
	a, err := label.ParseAIGC(b)
	if err != nil {
		return label.AIGC{}, "", fmt.Errorf("%s: %w", path, err)
	}
	text, ok, err := label.CompletionText(b)
	if err == nil && !ok {
		err = fmt.Errorf("%s: not a chat completion (no choices)", path)
	}
	return a, text, err
}

// labelVerdict is what "label verify" prints.
type labelVerdict struct {
	label.Result
	ProduceID string `json:"produce_id,omitempty"`
}

func labelVerifyCmd(cfgOf func() (config.Config, error)) *cobra.Command {
	var tf textFlags
	var pubFiles []string
	var noTrail bool
	cmd := &cobra.Command{
		Use:   "verify FILE|JSON",
		Short: "Say whether a label and its text are genuine, altered (naming what) or unknown",
		Long: `Verify a label: a Markdown or DOCX export, a chat completion saved as JSON, or
an AIGC object given as JSON (then give the text with --text or --text-file).
The signature is checked with the audit signing key's public key (--public-key
files, default the local signing key); the answer's audit record is compared
too when the database is at hand. The exit status is 0 only for genuine.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			claim, err := readClaim(args[0], &tf)
			if err != nil {
				return err
			}
			cfg, err := cfgOf()
			if err != nil {
				return err
			}
			keys, err := labelKeys(cfg, pubFiles)
			if err != nil {
				return err
			}
			var rec *label.Record
			searched := false
			if !noTrail && claim.AIGC.ProduceID != "" {
				if rec, searched, err = trailRecord(cmd.Context(), cfg, claim.AIGC.ProduceID); err != nil {
					return err
				}
			}
			res := label.Verify(claim, keys, rec, searched)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(labelVerdict{Result: res, ProduceID: claim.AIGC.ProduceID}); err != nil {
				return err
			}
			switch res.Verdict {
			case label.Genuine:
				return nil
			case label.Altered:
				return fmt.Errorf("label altered: %s", strings.Join(res.Altered, ", "))
			}
			return fmt.Errorf("label unknown: %s", res.Reason)
		},
	}
	tf.bind(cmd)
	cmd.Flags().StringArrayVar(&pubFiles, "public-key", nil, "file with the signing public key, ed25519:… (repeatable; default: the local signing key's)")
	cmd.Flags().BoolVar(&noTrail, "no-trail", false, "do not compare with the audit record even when the database is at hand")
	return cmd
}

// readClaim reads a label and its text from a file (Markdown, DOCX, JSON)
// or from JSON given as the argument.
func readClaim(arg string, tf *textFlags) (label.Claim, error) {
	var data []byte
	if strings.HasPrefix(strings.TrimSpace(arg), "{") {
		data = []byte(arg)
	} else {
		b, err := readInputFile(arg, maxLabelInput, "label verify")
		if err != nil {
			return label.Claim{}, err
		}
		data = b
		switch strings.ToLower(filepath.Ext(arg)) {
		case ".md", ".markdown":
			a, text, err := label.ParseMarkdown(b)
			return label.Claim{AIGC: a, Text: text}, err
		case ".docx":
			a, text, err := label.ParseDOCX(b)
			return label.Claim{AIGC: a, Text: text}, err
		}
	}
	a, err := label.ParseAIGC(data)
	if err != nil {
		return label.Claim{}, err
	}
	c := label.Claim{AIGC: a}
	text, given, err := tf.get()
	if err != nil {
		return c, err
	}
	if given {
		c.Text = text
		return c, nil
	}
	if text, ok, err := label.CompletionText(data); err == nil && ok {
		c.Text = text
		return c, nil
	}
	c.NoText = true
	return c, nil
}

// labelKeys are the public keys labels are checked with: the files given,
// or the local signing key's when there is one.
func labelKeys(cfg config.Config, files []string) (label.Keys, error) {
	if len(files) == 0 {
		_, signPath := replica.AuditFiles(cfg)
		if _, err := os.Stat(signPath); errors.Is(err, os.ErrNotExist) {
			return label.Keys{}, nil // labels verify as unknown unless the record is at hand
		}
	}
	pubs, err := verifyKeys(cfg, files)
	if err != nil {
		return nil, err
	}
	return label.NewKeys(pubs...), nil
}

// trailRecord reads the label record of an answer when the database is at
// hand; searched is false when it is not.
func trailRecord(ctx context.Context, cfg config.Config, id string) (*label.Record, bool, error) {
	if !store.Exists(store.Options{DSN: cfg.Database, DataDir: cfg.Data}) {
		return nil, false, nil
	}
	db, err := openExisting(ctx, cfg)
	if err != nil {
		return nil, false, err
	}
	defer db.Close()
	e, err := audit.Lookup(ctx, db, id, nil)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	case len(e.Label) == 0:
		return nil, true, nil
	}
	rec, err := label.ParseRecord(e.Label)
	return rec, err == nil, err
}

// openExisting opens the configured database, refusing to create one.
func openExisting(ctx context.Context, cfg config.Config) (*store.DB, error) {
	opts := store.Options{DSN: cfg.Database, DataDir: cfg.Data}
	if !store.Exists(opts) {
		return nil, fmt.Errorf("no Firebreak database in %s: run where `firebreak serve` keeps its data folder, or give --data DIR (--database for PostgreSQL)", cfg.Data)
	}
	return store.Open(ctx, opts)
}

// contentKeys is the audit content keyring when there is one, to read
// content that was kept encrypted.
func contentKeys(cfg config.Config) *audit.Keyring {
	keyPath, _ := replica.AuditFiles(cfg)
	k, err := audit.LoadKeyring(keyPath)
	if err != nil {
		return nil
	}
	return k
}
