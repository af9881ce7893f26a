package flow

import (
	"context"

	"github.com/latchkey/latchkey/shared"
)

// Signup creates an account whose only credential is a new passkey, and
// starts its session.
func (f Flows) Signup(ctx context.Context, req shared.SignupBeginRequest, step Step) (*shared.UserResponse, error) {
	step = orNop(step)
	begin, err := f.API.SignupBegin(ctx, req)
	if err != nil {
		return nil, err
	}
	step("Follow your browser's prompt to create your passkey…")
	cred, err := f.Creds.Create(ctx, begin.Options)
	if err != nil {
		return nil, err
	}
	step("Creating your account…")
	return f.API.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
}
