// Package e2e drives whole Latchkey instances in headless Chromium: real
// pages, the real wasm, real WebAuthn ceremonies through the DevTools
// protocol's virtual authenticators. It holds tests only.
package e2e
