// Command precompress writes FILE.br and FILE.gz beside each FILE given, at
// the highest levels. Brotli at level 11 takes seconds for app.wasm, far too
// slow for server start, so `make wasm` and the Dockerfile run it at build.
package main

import (
	"fmt"
	"os"

	"github.com/latchkey/latchkey/server/precompressed"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := precompressed.Write(path); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}
