package auth

// Hooks for the tests in package auth_test.
var NormalizeEmail = normalizeEmail
var LoopbackWithoutPort = loopbackWithoutPort
