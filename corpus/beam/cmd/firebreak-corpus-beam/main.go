// Command firebreak-corpus-beam submits Firebreak's corpus cleaning to an
// Apache Beam runner: Prism (the default, in this process), or Flink,
// Spark or Dataflow through Beam's usual flags (--runner, --endpoint,
// --environment_type …; see docs/corpus.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/firebreak/firebreak/corpus"
	corpusbeam "github.com/firebreak/firebreak/corpus/beam"
)

var (
	input  = flag.String("input", "", "folder of shards, or one shard, readable by every worker")
	output = flag.String("output", "", "output folder, writable by every worker")
	config = flag.String("config", "", "cleaning configuration (YAML), as for firebreak corpus clean")
)

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "firebreak-corpus-beam:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if *input == "" || *output == "" {
		return fmt.Errorf("--input and --output are required")
	}
	var cfg corpus.Config
	if *config != "" {
		c, err := corpus.LoadConfig(*config)
		if err != nil {
			return err
		}
		cfg = c
	}
	pl, err := corpusbeam.New(corpusbeam.Options{Input: *input, Output: *output, Config: cfg})
	if err != nil {
		return err
	}
	if err := beamx.Run(ctx, pl.Pipeline); err != nil {
		return err
	}
	m, err := pl.WriteManifest(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%d items read, %d kept; manifest in %s\n", m.Totals.Items, m.Totals.Kept, *output)
	return nil
}
