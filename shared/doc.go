// Package shared holds what the Latchkey server and its clients (the wasm UI,
// Go programs) agree on: API request and response bodies, route paths and
// error codes. It is compiled into the wasm, so it imports the standard
// library only and never net/http.
package shared
