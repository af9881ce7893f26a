// Command latchkey runs the Latchkey server. Configuration comes from the
// environment; see the README.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/server/boot"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/store/redisstore"
)

func main() {
	cfg, err := config.FromEnvironment()
	if err != nil {
		fail("configuration: %v", err)
	}
	if len(os.Args) > 1 {
		if err := command(os.Args[1], cfg, os.Stdout); err != nil {
			fail("%v", err)
		}
		return
	}
	log := boot.NewLogger(cfg)
	redisstore.RouteLogs(log)
	// zitadel/oidc logs through slog's default logger: make it ours, so
	// its lines have our format and level.
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := boot.Run(ctx, cfg, log); err != nil {
		fail("%v", err)
	}
}

// command runs one of the binary's commands, with the configuration the
// server would use (checked the same way, without opening any store).
func command(name string, cfg *config.Config, stdout io.Writer) error {
	switch name {
	case "healthcheck":
		// For container health checks: the distroless image has no shell
		// or curl, so the binary asks its own /healthz.
		if err := healthcheck(cfg.ListenAddr); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		return nil
	case "clients":
		// What an app's settings need: endpoints and clients.
		return printClients(stdout, cfg)
	default:
		return fmt.Errorf("unknown command %q (the commands are healthcheck and clients)", name)
	}
}

func healthcheck(listenAddr string) error {
	_, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %d", resp.StatusCode)
	}
	return nil
}

// fail prints one line (several causes are joined with "; ") and exits
// non-zero, so a misconfigured deploy stops at once and says why.
func fail(format string, args ...any) {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "; ")
	fmt.Fprintln(os.Stderr, "latchkey: "+msg)
	os.Exit(1)
}
