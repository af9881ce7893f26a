package redisstore

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseURL feeds REDIS_URL values to the parser Open uses, without
// connecting: it must not panic, the client it chooses must build (go-redis
// panics on some option mixes), and no error may contain the password. The
// URL is redis://user:PASSWORD@REST, so the password is known even when the
// rest makes the URL unparseable; a password holding / ? or # would end the
// authority and be no password, so those are not checked.
func FuzzParseURL(f *testing.F) {
	for _, seed := range [][3]string{
		{"redis", "s3cr3t-pw", "localhost:6379/0"},
		{"rediss", "s3cr3t-pw", "cache.internal:6380/2?dial_timeout=3s"},
		{"redis", "s3cr3t-pw", "s1:26379?master_name=mymaster&addr=s2:26379&password=m4ster-pw"},
		{"redis", "s3cr3t-pw", "n1:7000?addr=n2:7000&addr=n3:7000"},
		{"redis", "s3cr3t-pw", "h:6379?master_name=m&route_randomly=true"},
		{"redis", "p%40ss%3Aword", "host:bad-port"},
		{"redis", "s3cr3t-pw", "h:6379/notanumber"},
		{"redis", "s3cr3t-pw", "[::1:6379"},
		{"redis", "s3cr3t pw", "host:6379"},
		{"http", "s3cr3t-pw", "host"},
		{"redis", "s3cr3t-pw", "h:1?protocol=9&pool_size=-1&read_timeout=x"},
		{"redis", "s3cr3t-pw", "h:1?addr=%zz"},
		// Found by the fuzzer: with a mistyped scheme or one slash too few
		// the userinfo is no userinfo to url.Parse, and the error repeated
		// it (testdata/fuzz/FuzzParseURL holds the minimised input).
		{"redis:", "s3cr3t-pw", "host:6379"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, scheme, password, rest string) {
		raw := scheme + "://user:" + password + "@" + rest
		opts, err := parseURL(raw)
		if err == nil {
			newClient(opts).Close()
			return
		}
		// Text that holds the password for another reason is no leak: the
		// same error with another password, and the rest of the URL.
		other := "user:" + scheme + rest
		if _, err2 := parseURL(scheme + "://user:pw@" + rest); err2 != nil {
			other += err2.Error()
		}
		for _, secret := range secretForms(password) {
			if len(secret) >= 4 && !strings.Contains(other, secret) && strings.Contains(err.Error(), secret) {
				t.Fatalf("parseURL(%q): the error %q contains the password %q", raw, err, secret)
			}
		}
		if pw := queryPasswords(rest); len(pw) >= 4 && !strings.Contains(scheme+password, pw) && strings.Contains(err.Error(), pw) {
			t.Fatalf("parseURL(%q): the error %q contains the password parameter %q", raw, err, pw)
		}
	})
}

// secretForms is the password as typed and percent-decoded, unless it cannot
// be one.
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

// queryPasswords is the first password= or sentinel_password= parameter.
func queryPasswords(rest string) string {
	_, q, ok := strings.Cut(rest, "?")
	if !ok {
		return ""
	}
	q, _, _ = strings.Cut(q, "#") // a fragment is no parameter
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	if p := v.Get("password"); p != "" {
		return p
	}
	return v.Get("sentinel_password")
}
