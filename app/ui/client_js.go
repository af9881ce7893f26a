//go:build js && wasm

package ui

import "github.com/latchkey/latchkey/app/client"

func newClient() *client.Client { return client.New() }
