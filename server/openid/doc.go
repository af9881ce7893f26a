// Package openid makes Latchkey an OpenID Connect provider, so that other
// applications can let people in with their passkey ("Sign in with
// Latchkey"). It is an adapter: zitadel/oidc's op package parses the
// protocol's requests and writes its responses, go-jose signs, and every
// decision (who is logged in, what they consented to, which code and token
// is good) is the domain's (package auth). It implements op.Server rather
// than op.Storage so that each of the library's defaults that Latchkey
// does not want (implicit and hybrid flows, plain PKCE, open CORS with
// credentials, a /healthz of its own, scopes passed through, a loose
// loopback rule) is simply never reached.
package openid
