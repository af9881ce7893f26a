package auth

import "github.com/latchkey/latchkey/shared"

// Short local names for the codes this package raises most.
const (
	codeInvalid            = shared.CodeInvalidInput
	codeCeremonyInvalid    = shared.CodeCeremonyInvalid
	codeCredentialRejected = shared.CodeCredentialRejected
)
