package bunstore

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzDatabaseURL feeds DATABASE_URL values to what Open does before it
// connects (choosing the driver and reading the URL) and to describe, which
// names the database in Open's later errors: no panic (pgdriver panics on
// some DSNs), and no error or description holding the password. The URL is
// SCHEME://user:PASSWORD@REST, so the password is known even when REST makes
// it unparseable.
func FuzzDatabaseURL(f *testing.F) {
	for _, seed := range [][3]string{
		{"postgres", "s3cr3t-pw", "127.0.0.1:5432/test?sslmode=disable"},
		{"postgresql", "s3cr3t-pw", "db.internal/app?sslmode=verify-full&search_path=latchkey"},
		{"postgres", "s3cr3t-pw", "h/db?sslmode=bogus"},
		{"postgres", "s3cr3t-pw", "h:notaport/db"},
		{"postgres", "p%40ss%3Aword", "[::1/db"},
		{"postgres", "s3cr3t-pw", "h/db?password=0ther-pw&connect_timeout=x"},
		{"sqlite", "s3cr3t-pw", "localhost/tmp/x.db?_pragma=foreign_keys(1)"},
		{"file", "s3cr3t-pw", "/tmp/x.db?mode=ro&%zz"},
		{"mysql", "s3cr3t-pw", "h/db"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, scheme, password, rest string) {
		raw := scheme + "://user:" + password + "@" + rest
		s, err := open(raw, dir)
		// Open's later errors (connect, migrate) name the database with
		// describe.
		var text string
		if err != nil {
			text = err.Error()
		} else {
			s.Close()
			text = describe(raw, dir)
		}
		// Text that holds the password for another reason is no leak.
		other := "user:" + scheme + rest + describe(scheme+"://user:pw@"+rest, dir)
		if _, err2 := open(scheme+"://user:pw@"+rest, dir); err2 != nil {
			other += err2.Error()
		}
		for _, secret := range secretForms(password) {
			if len(secret) >= 4 && !strings.Contains(other, secret) && strings.Contains(text, secret) {
				t.Fatalf("DATABASE_URL %q: %q contains the password %q", raw, text, secret)
			}
		}
	})
}

// secretForms is the password as typed and percent-decoded, unless it cannot
// be one (/ ? and # end the authority).
func secretForms(p string) []string {
	if strings.ContainsAny(p, "/?#") {
		return nil
	}
	forms := []string{p}
	if d, err := url.PathUnescape(p); err == nil && d != p {
		forms = append(forms, d)
	}
	return forms
}
