package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/config"
)

type entry[T any] struct {
	Value  T      `json:"value"`
	Source string `json:"source"`
}

func newUpstreamsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "upstreams", Short: "Manage the model servers behind the gateway"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List upstreams", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []entry[config.Upstream] }
			if err := c.do(cmd.Context(), http.MethodGet, "/upstreams", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tBASE URL\tWEIGHT\tMAX CONCURRENT\tSOURCE")
			for _, e := range out.Data {
				u := e.Value
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", u.Name, u.BaseURL, u.Weight, u.MaxConcurrent, e.Source)
			}
			return tw.Flush()
		},
	})
	var u config.Upstream
	var connect, firstByte, idle time.Duration
	var headerEnv map[string]string
	set := &cobra.Command{
		Use: "set NAME", Short: "Add or replace an upstream", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			u.Name, u.HeadersEnv = args[0], headerEnv
			u.ConnectTimeout, u.FirstByteTimeout, u.IdleTimeout = config.Duration(connect), config.Duration(firstByte), config.Duration(idle)
			if err := c.do(cmd.Context(), http.MethodPut, "/upstreams/"+url.PathEscape(u.Name), u, nil); err != nil {
				return err
			}
			return c.say("Upstream %s set: %s. Models that name it use it now.\n", u.Name, u.BaseURL)
		},
	}
	set.Flags().StringVar(&u.BaseURL, "base-url", "", "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
	set.Flags().StringVar(&u.APIKeyEnv, "api-key-env", "", "name of the server's environment variable that holds the upstream's API key")
	set.Flags().StringToStringVar(&headerEnv, "header-env", nil, "HEADER=ENV: send HEADER with the value of the server's environment variable ENV (repeatable)")
	set.Flags().IntVar(&u.Weight, "weight", 1, "share of traffic among replicas of a model")
	set.Flags().IntVar(&u.MaxConcurrent, "max-concurrent", 0, "requests in flight to this upstream (0 = unlimited)")
	set.Flags().DurationVar(&connect, "connect-timeout", 0, "TCP/TLS connect timeout (default 5s)")
	set.Flags().DurationVar(&firstByte, "first-byte-timeout", 0, "time to response headers (default 60s)")
	set.Flags().DurationVar(&idle, "idle-timeout", 0, "longest gap between stream chunks (default 60s)")
	_ = set.MarkFlagRequired("base-url")
	cmd.AddCommand(set, removeCmd(client, "delete NAME", "Remove an upstream", "upstreams", "upstream"))
	return cmd
}

// removeCmd is a command ("delete NAME", "revoke KEY_ID") that deletes or
// revokes the noun at path/ARG for good: it asks for --yes, then says what
// it did ("Deleted upstream a.").
func removeCmd(client func() (*adminClient, error), use, short, path, noun string) *cobra.Command {
	var yes bool
	verb := strings.Fields(use)[0]
	cmd := &cobra.Command{
		Use: use + " --yes", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return fmt.Errorf("%s %s %s: this cannot be undone; pass --yes to confirm", verb, noun, args[0])
			}
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, "/"+path+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return c.say("%s %s %s.\n", strings.ToUpper(verb[:1])+verb[1:]+"d", noun, args[0])
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	return cmd
}

func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "Manage public models and the upstream models behind them"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List public models", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Data []entry[config.Model] }
			if err := c.do(cmd.Context(), http.MethodGet, "/models", nil, &out); err != nil {
				return err
			}
			if c.json {
				return c.print(out.Data)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDOMAIN\tTARGETS\tSOURCE")
			for _, e := range out.Data {
				var ts []string
				for _, t := range e.Value.Targets {
					ts = append(ts, t.Upstream+":"+t.Model)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Value.Name, e.Value.Domain, strings.Join(ts, ","), e.Source)
			}
			return tw.Flush()
		},
	})
	var m config.Model
	var targets []string
	set := &cobra.Command{
		Use: "set NAME", Short: "Add or replace a public model", Args: cobra.ExactArgs(1),
		Example: "  firebreak models set medical --domain medical --target vllm-a:qwen-med --target vllm-b:qwen-med",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			m.Name, m.Targets = args[0], nil
			for _, t := range targets {
				up, model, _ := strings.Cut(t, ":")
				m.Targets = append(m.Targets, config.Target{Upstream: up, Model: model})
			}
			if err := c.do(cmd.Context(), http.MethodPut, "/models/"+url.PathEscape(m.Name), m, nil); err != nil {
				return err
			}
			ts := make([]string, len(m.Targets))
			for i, t := range m.Targets {
				ts[i] = t.Upstream + ":" + t.Model
			}
			return c.say("Model %s set: served by %s.\n", m.Name, strings.Join(ts, ", "))
		},
	}
	set.Flags().StringVar(&m.Domain, "domain", "general", "the field the model serves: general, edu, medical, office …")
	set.Flags().StringVar(&m.Description, "description", "", "shown in the model list")
	set.Flags().StringArrayVar(&targets, "target", nil, "UPSTREAM[:MODEL] serving this model; repeat for replicas")
	_ = set.MarkFlagRequired("target")
	cmd.AddCommand(set, removeCmd(client, "delete NAME", "Remove a public model", "models", "model"))
	return cmd
}

func newRoutingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "routing", Short: "Show or replace the 1+N routing rules"}
	client := adminFlags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "get", Short: "Print the routing rules in force", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out entry[config.Routing]
			if err := c.do(cmd.Context(), http.MethodGet, "/routing", nil, &out); err != nil {
				return err
			}
			return c.print(out)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "set FILE", Short: "Replace the routing rules with those in a YAML or JSON file", Args: cobra.ExactArgs(1),
		Example: `  # routing.yaml
  general: general
  domains:
    - {domain: medical, model: medical, keywords: [症状, 药, diagnosis]}
    - {domain: edu, model: edu, keywords: [作业, homework], patterns: ['(?i)\bexam\b']}`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var rt config.Routing
			if err := yaml.Unmarshal(b, &rt); err != nil { // YAML is a superset of JSON
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := c.do(cmd.Context(), http.MethodPut, "/routing", rt, nil); err != nil {
				return err
			}
			return c.say("Routing rules replaced: general model %s, %d domain rule(s).\n", rt.General, len(rt.Domains))
		},
	})
	return cmd
}
