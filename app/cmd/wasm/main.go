// Command wasm is the Latchkey UI compiled to web/app.wasm.
package main

import (
	"github.com/latchkey/latchkey/app/ui"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	ui.Register()
	app.RunWhenOnBrowser()
}
