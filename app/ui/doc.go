// Package ui holds Latchkey's pages and components. The same code renders
// on the server (prerendering, so a page shows before the wasm starts) and
// in the browser; anything that does I/O runs only in the browser, from
// OnMount/OnNav or event handlers.
package ui
