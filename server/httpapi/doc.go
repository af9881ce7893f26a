// Package httpapi is Latchkey's HTTP edge: routing, strict JSON decoding,
// cookies, middleware and the one table that maps error codes to statuses.
// Handlers return errors; they never write error responses themselves.
package httpapi
