package shared

// Limits of what people type, in characters (runes). The server's
// validation enforces them and the UI's inputs declare them (maxlength,
// hints), so the two cannot drift apart.
const (
	UsernameMinLen    = 3
	UsernameMaxLen    = 32
	DisplayNameMaxLen = 64
	PasskeyNameMaxLen = 64
)
