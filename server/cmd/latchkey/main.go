// Command latchkey runs the Latchkey server. Configuration comes from the
// environment; see the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/latchkey/latchkey/server/boot"
	"github.com/latchkey/latchkey/server/config"
)

func main() {
	cfg, err := config.FromEnvironment()
	if err != nil {
		fail("configuration: %v", err)
	}
	log := boot.NewLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := boot.Run(ctx, cfg, log); err != nil {
		fail("%v", err)
	}
}

// fail prints one line (several causes are joined with "; ") and exits
// non-zero, so a misconfigured deploy stops at once and says why.
func fail(format string, args ...any) {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "; ")
	fmt.Fprintln(os.Stderr, "latchkey: "+msg)
	os.Exit(1)
}
