// Package auth is Latchkey's domain: users, their passkeys, WebAuthn
// ceremonies, sessions and login links. It owns the interfaces of the stores
// it needs; adapters (Bun, Redis, in-process) implement them in packages of
// their own. It is the only package that imports go-webauthn.
package auth
