package bank

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mapping says how the columns (CSV) or fields (JSONL) of an operator's
// own set become bank items. Prompt is required; every other column is
// optional, and the fixed values fill what no column gives.
type Mapping struct {
	Prompt string // column with the prompt; required
	ID     string // column with the id; default: file name and row number
	Risk   string // column with the risk code
	Aspect string // column with the should-not-refuse aspect
	Lang   string // column with the language
	Answer string // column with the exact answer key

	Bank        string // the bank of every item; required
	DefaultRisk string // risk code when no Risk column gives one
	DefaultLang string // language when no Lang column gives one; default "zh"
	Source      string // source of every item; default the file name
	License     string // licence of every item
}

// ImportTable reads CSV files (with a header row) or JSONL files
// (objects whose fields are strings or numbers) into items with m.
// Every row that does not make a valid item is reported with its file
// and row, up to 50.
func ImportTable(format string, files []string, m Mapping) ([]Item, error) {
	if m.Prompt == "" || m.Bank == "" {
		return nil, errors.New("a prompt column and a bank are required")
	}
	if m.DefaultLang == "" {
		m.DefaultLang = "zh"
	}
	var items []Item
	var errs []error
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		rows, err := tableRows(format, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i, row := range rows {
			it := m.item(filepath.Base(name), i+1, row)
			if err := it.Validate(); err != nil {
				if errs = append(errs, fmt.Errorf("%s row %d: %w", name, i+1, err)); len(errs) == 50 {
					return nil, errors.Join(errs...)
				}
				continue
			}
			items = append(items, it)
		}
	}
	return items, errors.Join(errs...)
}

func (m Mapping) item(file string, n int, row map[string]string) Item {
	pick := func(col, def string) string {
		if v := strings.TrimSpace(row[col]); col != "" && v != "" {
			return v
		}
		return def
	}
	it := Item{
		ID:      pick(m.ID, strings.TrimSuffix(file, filepath.Ext(file))+"-"+strconv.Itoa(n)),
		Bank:    m.Bank,
		Risk:    pick(m.Risk, m.DefaultRisk),
		Aspect:  pick(m.Aspect, ""),
		Lang:    pick(m.Lang, m.DefaultLang),
		Prompt:  row[m.Prompt],
		Source:  m.Source,
		License: m.License,
	}
	if it.Source == "" {
		it.Source = file + " row " + strconv.Itoa(n)
	}
	if a := pick(m.Answer, ""); a != "" {
		it.Key = &Key{Exact: a}
	}
	return it
}

// tableRows returns the rows of a CSV file with a header, or of a JSONL
// file, as column → value.
func tableRows(format string, b []byte) ([]map[string]string, error) {
	var rows []map[string]string
	switch format {
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, errors.New("no header row")
		}
		for _, rec := range recs[1:] {
			row := map[string]string{}
			for i, col := range recs[0] {
				if i < len(rec) {
					row[col] = rec[i]
				}
			}
			rows = append(rows, row)
		}
	case "jsonl":
		err := eachJSONLine(b, func(_ int, line []byte) error {
			var obj map[string]any
			if err := json.Unmarshal(line, &obj); err != nil {
				return err
			}
			row := map[string]string{}
			for k, v := range obj {
				switch v := v.(type) {
				case string:
					row[k] = v
				case float64:
					row[k] = strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("format %q: want csv or jsonl", format)
	}
	return rows, nil
}
