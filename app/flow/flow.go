// Package flow runs Latchkey's ceremonies from start to finish: sign-up,
// the logins, the login link, adding a passkey, re-authentication and the
// account's actions. It talks to the API and the browser's passkey prompt
// through two small interfaces and knows nothing of go-app, so the pages
// (package ui) only start a flow and render its Task, and every flow is
// tested with plain `go test` against fakes. The split is the one of
// go-app's own docs site, where markdown.go does the I/O and
// markdown-doc.go only renders.
//
// Flows run off the UI goroutine. They report progress through a Step
// function the page passes in, and end with a result and an error whose
// sentence Message gives.
package flow

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// API is the part of the Latchkey API the flows use; *client.Client is
// one.
type API interface {
	SignupBegin(context.Context, shared.SignupBeginRequest) (*shared.CeremonyResponse, error)
	SignupFinish(context.Context, shared.SignupFinishRequest) (*shared.UserResponse, error)
	LoginBegin(context.Context, shared.LoginBeginRequest) (*shared.CeremonyResponse, error)
	LoginFinish(context.Context, shared.LoginFinishRequest) (*shared.UserResponse, error)
	Remembered(context.Context) (*shared.RememberedResponse, error)
	Forget(context.Context) error
	EmailLoginLink(context.Context, shared.EmailLoginRequest) (*shared.EmailLoginResponse, error)
	EmailLinkAccount(context.Context, shared.EmailVerifyRequest) (*shared.EmailLinkResponse, error)
	EmailVerify(context.Context, shared.EmailVerifyRequest) (*shared.UserResponse, error)
	SetEmail(context.Context, shared.AccountEmailRequest) error
	Disown(context.Context) error
	Logout(context.Context) error
	Me(context.Context) (*shared.UserResponse, error)
	Passkeys(context.Context) (*shared.PasskeysResponse, error)
	PasskeyBegin(context.Context) (*shared.CeremonyResponse, error)
	PasskeyFinish(context.Context, shared.PasskeyFinishRequest) (*shared.PasskeyResponse, error)
	RenamePasskey(ctx context.Context, id, name string) (*shared.PasskeyResponse, error)
	DeletePasskey(ctx context.Context, id string) error
	Sessions(context.Context) (*shared.SessionsResponse, error)
	EndSession(ctx context.Context, id string) error
	LogoutEverywhere(context.Context) error
	Authorization(ctx context.Context, id string) (*shared.AuthorizationInfo, error)
	Consent(ctx context.Context, id string, req shared.ConsentRequest) (*shared.ContinueResponse, error)
	LogoutRequest(ctx context.Context, id string) (*shared.LogoutInfo, error)
	Apps(context.Context) (*shared.AppsResponse, error)
	RemoveApp(ctx context.Context, appID string) error
}

// Credentials is the browser's passkey prompt; credentials.Browser is the
// real one. Options and results are the JSON the server sends and reads.
type Credentials interface {
	Supported() bool
	ConditionalMediationAvailable(context.Context) bool
	Create(ctx context.Context, options []byte) ([]byte, error)
	Get(ctx context.Context, options []byte, conditional bool) ([]byte, error)
}

// Flows runs the ceremonies against one API and one passkey prompt.
type Flows struct {
	API   API
	Creds Credentials
}

// Step tells the page what a running flow does now ("Follow your
// browser's prompt…"). It is called off the UI goroutine.
type Step func(progress string)

// RequestTimeout bounds a flow's requests, so a server that never answers
// ends the wait with an error the page shows.
const RequestTimeout = 30 * time.Second

// Task is what a page shows of the work it runs: whether it runs, what it
// does now, and how it ended. It replaces a busy/progress/error triple in
// every page.
type Task struct {
	Busy     bool
	Progress string
	Err      error
}

// Message is the sentence for the task's error, "" without one.
func (t Task) Message() string {
	if t.Err == nil {
		return ""
	}
	return Message(t.Err)
}

// FormMessage is Message, except for an error the server filed under a
// field: the form shows that one beside its field (FieldMessage) instead.
func (t Task) FormMessage() string {
	if e, ok := apiError(t.Err); ok && e.Field != "" {
		return ""
	}
	return t.Message()
}

// FieldMessage is the error the server filed under field, "" for others.
func (t Task) FieldMessage(field string) string {
	if e, ok := apiError(t.Err); ok && e.Field == field {
		return e.Message
	}
	return ""
}

func nop(string) {}

func orNop(s Step) Step {
	if s == nil {
		return nop
	}
	return s
}
