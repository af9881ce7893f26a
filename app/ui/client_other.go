//go:build !(js && wasm)

package ui

import "github.com/latchkey/latchkey/app/client"

// On the server the components only prerender and never call the API, but
// they are compiled there too; a client pointed nowhere keeps them honest.
func newClient() *client.Client { return client.NewHTTP("http://invalid.localhost", nil) }
