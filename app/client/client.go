// Package client is a typed client for the Latchkey API over the structs of
// package shared. In the browser it calls fetch through syscall/js, so the
// wasm links no HTTP stack; elsewhere it uses net/http, which makes it a Go
// SDK for programs that build on Latchkey.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/shared"
)

// ErrNetwork wraps failures to reach the server at all (offline, DNS, reset).
var ErrNetwork = errors.New("the server could not be reached")

// transport performs one request and returns the status and body.
type transport interface {
	do(ctx context.Context, method, path string, body []byte) (int, []byte, error)
}

// Client calls one Latchkey server.
type Client struct {
	t transport
}

// APIError returns the *shared.APIError in err's chain, if any.
func APIError(err error) (*shared.APIError, bool) {
	return errors.AsType[*shared.APIError](err)
}

// Code returns the API error code in err, or "" for other errors.
func Code(err error) string {
	if e, ok := APIError(err); ok {
		return e.Code
	}
	return ""
}

func (c *Client) call(ctx context.Context, rt shared.Route, in, out any) error {
	method, path := rt.Method, rt.Path
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	status, resp, err := c.t.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status >= 400 {
		var eb shared.ErrorBody
		if json.Unmarshal(resp, &eb) != nil || eb.Error.Code == "" {
			eb.Error = shared.APIError{Code: shared.CodeInternal, Message: fmt.Sprintf("The server answered %d.", status)}
		}
		eb.Error.Status = status
		return &eb.Error
	}
	if out != nil && len(resp) > 0 {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// SignupBegin starts a sign-up ceremony.
func (c *Client) SignupBegin(ctx context.Context, req shared.SignupBeginRequest) (*shared.CeremonyResponse, error) {
	var out shared.CeremonyResponse
	return &out, c.call(ctx, shared.RouteSignupBegin, req, &out)
}

// SignupFinish completes a sign-up and starts a session.
func (c *Client) SignupFinish(ctx context.Context, req shared.SignupFinishRequest) (*shared.UserResponse, error) {
	var out shared.UserResponse
	return &out, c.call(ctx, shared.RouteSignupFinish, req, &out)
}

// LoginBegin starts a login; an empty name starts a discoverable login.
func (c *Client) LoginBegin(ctx context.Context, req shared.LoginBeginRequest) (*shared.CeremonyResponse, error) {
	var out shared.CeremonyResponse
	return &out, c.call(ctx, shared.RouteLoginBegin, req, &out)
}

// LoginFinish completes a login and starts a session.
func (c *Client) LoginFinish(ctx context.Context, req shared.LoginFinishRequest) (*shared.UserResponse, error) {
	var out shared.UserResponse
	return &out, c.call(ctx, shared.RouteLoginFinish, req, &out)
}

// Remembered returns the user this device remembers.
func (c *Client) Remembered(ctx context.Context) (*shared.RememberedResponse, error) {
	var out shared.RememberedResponse
	return &out, c.call(ctx, shared.RouteLoginRemembered, nil, &out)
}

// Forget forgets the remembered user (Switch User).
func (c *Client) Forget(ctx context.Context) error {
	return c.call(ctx, shared.RouteLoginForget, nil, nil)
}

// EmailLogin asks for a login link; it succeeds whether or not the user exists.
func (c *Client) EmailLogin(ctx context.Context, req shared.EmailLoginRequest) error {
	_, err := c.EmailLoginLink(ctx, req)
	return err
}

// EmailLoginLink is EmailLogin that also returns the answer: how long a
// link sent now works.
func (c *Client) EmailLoginLink(ctx context.Context, req shared.EmailLoginRequest) (*shared.EmailLoginResponse, error) {
	var out shared.EmailLoginResponse
	return &out, c.call(ctx, shared.RouteLoginEmail, req, &out)
}

// EmailVerify redeems a login link token and starts a session.
func (c *Client) EmailVerify(ctx context.Context, req shared.EmailVerifyRequest) (*shared.UserResponse, error) {
	var out shared.UserResponse
	return &out, c.call(ctx, shared.RouteLoginEmailVerify, req, &out)
}

// EmailLinkAccount names the account a login link belongs to without
// using the link.
func (c *Client) EmailLinkAccount(ctx context.Context, req shared.EmailVerifyRequest) (*shared.EmailLinkResponse, error) {
	var out shared.EmailLinkResponse
	return &out, c.call(ctx, shared.RouteLoginEmailAccount, req, &out)
}

// SetEmail asks for a link that gives the account an address.
func (c *Client) SetEmail(ctx context.Context, req shared.AccountEmailRequest) error {
	return c.call(ctx, shared.RouteAccountEmail, req, nil)
}

// Disown deletes the account whose address this session's link just
// proved, for a person who says it is not theirs.
func (c *Client) Disown(ctx context.Context) error {
	return c.call(ctx, shared.RouteAccountDisown, nil, nil)
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.call(ctx, shared.RouteLogout, nil, nil)
}

// Me returns the logged-in user; unauthenticated is an *shared.APIError.
func (c *Client) Me(ctx context.Context) (*shared.UserResponse, error) {
	var out shared.UserResponse
	return &out, c.call(ctx, shared.RouteMe, nil, &out)
}

// Passkeys lists the user's passkeys.
func (c *Client) Passkeys(ctx context.Context) (*shared.PasskeysResponse, error) {
	var out shared.PasskeysResponse
	return &out, c.call(ctx, shared.RoutePasskeys, nil, &out)
}

// PasskeyBegin starts adding a passkey.
func (c *Client) PasskeyBegin(ctx context.Context) (*shared.CeremonyResponse, error) {
	var out shared.CeremonyResponse
	return &out, c.call(ctx, shared.RoutePasskeysBegin, struct{}{}, &out)
}

// PasskeyFinish completes adding a passkey.
func (c *Client) PasskeyFinish(ctx context.Context, req shared.PasskeyFinishRequest) (*shared.PasskeyResponse, error) {
	var out shared.PasskeyResponse
	return &out, c.call(ctx, shared.RoutePasskeysFinish, req, &out)
}

// RenamePasskey renames one of the user's passkeys.
func (c *Client) RenamePasskey(ctx context.Context, id, name string) (*shared.PasskeyResponse, error) {
	var out shared.PasskeyResponse
	return &out, c.call(ctx, shared.RoutePasskeyRename.With(id), shared.PasskeyRenameRequest{Name: name}, &out)
}

// DeletePasskey deletes one of the user's passkeys.
func (c *Client) DeletePasskey(ctx context.Context, id string) error {
	return c.call(ctx, shared.RoutePasskeyDelete.With(id), nil, nil)
}

// Sessions lists the user's sessions.
func (c *Client) Sessions(ctx context.Context) (*shared.SessionsResponse, error) {
	var out shared.SessionsResponse
	return &out, c.call(ctx, shared.RouteSessions, nil, &out)
}

// EndSession ends one of the user's sessions.
func (c *Client) EndSession(ctx context.Context, id string) error {
	return c.call(ctx, shared.RouteSessionEnd.With(id), nil, nil)
}

// LogoutEverywhere ends every session of the user, this one included. It
// needs a recent login with a passkey that is not provisional.
func (c *Client) LogoutEverywhere(ctx context.Context) error {
	return c.call(ctx, shared.RouteSessionsEnd, nil, nil)
}

// Authorization describes an application's pending sign-in; it needs no
// session. An unknown or expired id is not_found.
func (c *Client) Authorization(ctx context.Context, id string) (*shared.AuthorizationInfo, error) {
	var out shared.AuthorizationInfo
	return &out, c.call(ctx, shared.RouteAuthorization.With(id), nil, &out)
}

// Consent answers an application's consent question for the logged-in
// user and returns where the sign-in continues.
func (c *Client) Consent(ctx context.Context, id string, req shared.ConsentRequest) (*shared.ContinueResponse, error) {
	var out shared.ContinueResponse
	return &out, c.call(ctx, shared.RouteConsent.With(id), req, &out)
}

// LogoutRequest describes an application's pending logout request.
func (c *Client) LogoutRequest(ctx context.Context, id string) (*shared.LogoutInfo, error) {
	var out shared.LogoutInfo
	return &out, c.call(ctx, shared.RouteLogoutRequest.With(id), nil, &out)
}

// Apps lists the applications the user has allowed to sign them in.
func (c *Client) Apps(ctx context.Context) (*shared.AppsResponse, error) {
	var out shared.AppsResponse
	return &out, c.call(ctx, shared.RouteApps, nil, &out)
}

// RemoveApp forgets the user's consent to an application and revokes its
// access.
func (c *Client) RemoveApp(ctx context.Context, appID string) error {
	return c.call(ctx, shared.RouteAppRemove.With(appID), nil, nil)
}
