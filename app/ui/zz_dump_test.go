package ui

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func TestZZDump(t *testing.T) {
	out := os.Getenv("DUMP")
	if out == "" {
		t.Skip()
	}
	f, _ := os.Create(out)
	defer f.Close()
	n := 0
	dump := func(name string, c app.Composer) {
		n++
		fmt.Fprintf(f, "===== %d %s\n%s\n", n, name, render(t, c))
	}
	err := &flow.Problem{Msg: "Something failed."}
	ferr := &shared.APIError{Code: shared.CodeEmailTaken, Field: "email", Message: "Taken."}
	uerr := &shared.APIError{Code: shared.CodeUsernameTaken, Field: "username", Message: "User taken."}
	busy := func(tk *task, prog string) { tk.Busy, tk.Progress = true, prog }

	dump("home", &home{})
	dump("offline", &offline{})

	dump("signup", &signup{})
	dump("signup app", &signup{authorize: "az", appName: "Grafana"})
	dump("signup appErr", &signup{appErr: err, unsupported: true})
	s := &signup{username: "bob", email: "b@x", displayName: "Bob"}
	s.task.Err = ferr
	dump("signup ferr", s)
	s = &signup{}
	s.task.Err = uerr
	dump("signup uerr", s)
	s = &signup{}
	s.task.Err = err
	busy(&s.task, "Checking…")
	dump("signup busy err", s)
	dump("signup leaving", &signup{leaving: true})

	for _, st := range []loginStage{stageChecking, stageIdentify, stageHello} {
		dump("login", &login{stage: st, username: "alice", name: "al"})
		dump("login app", &login{stage: st, username: "alice", authorize: "a/b", appName: "Grafana"})
		dump("login appErr", &login{stage: st, username: "alice", appErr: err})
		l := &login{stage: st, username: "alice", notice: "Check your mail."}
		l.task.Err = err
		busy(&l.task, "Looking…")
		dump("login busy", l)
	}

	for _, st := range []linkStep{linkChecking, linkAsk, linkFailed, linkOwner, linkDisowned, linkLeaving} {
		le := &loginEmail{step: st, username: "alice", keys: []shared.Passkey{{Name: "K1", CreatedAt: time.Unix(1e9, 0).UTC()}, {Name: "K2", CreatedAt: time.Unix(2e9, 0).UTC()}}}
		dump("loginEmail", le)
		le = &loginEmail{step: st, username: "alice", current: "bob"}
		le.task.Err = err
		busy(&le.task, "x")
		dump("loginEmail cur err", le)
		dump("loginEmail same cur", &loginEmail{step: st, username: "alice", current: "ALICE"})
	}

	u := shared.User{Username: "alice"}
	t1, t2 := time.Unix(1.5e9, 0).UTC(), time.Unix(1.6e9, 0).UTC()
	keys := []shared.Passkey{
		{ID: "k1", Name: "Phone", CreatedAt: t1},
		{ID: "k2", Name: "Yubi", AuthenticatorName: "YubiKey 5", AuthenticatorIcon: "yubico", Synced: true, CreatedAt: t1, LastUsedAt: &t2},
		{ID: "k3", Name: "Mac", AuthenticatorName: "Mac", CreatedAt: t1, ProvisionalUntil: &t2},
	}
	sessions := []shared.Session{
		{ID: "s1", Current: true, Method: shared.MethodPasskey, Device: "Chrome on Mac", IP: "1.2.3.4", CreatedAt: t1, LastSeenAt: t2},
		{ID: "s2", Method: shared.MethodEmail, Device: "Firefox", IP: "::1", CreatedAt: t1, LastSeenAt: t2},
	}
	apps := []shared.App{{ID: "g", Name: "Grafana", Scopes: []string{shared.ScopeOpenID, shared.ScopeEmail}, GrantedAt: t1}, {ID: "h", Name: "Hub", Scopes: []string{shared.ScopeOpenID}, GrantedAt: t2}}
	dump("account none", &account{})
	dump("account loading", &account{session: flow.Session{Status: flow.Loaded, User: &u}})
	for _, mode := range []string{"", "renaming", "confirming"} {
		uu := shared.User{Username: "alice", DisplayName: "Alice A", Email: "a@x"}
		a := &account{session: flow.Session{Status: flow.Loaded, User: &uu, Method: shared.MethodEmail}, keysStatus: flow.Loaded, keys: keys, sessions: sessions, apps: apps}
		switch mode {
		case "renaming":
			a.renaming, a.renameTo = "k2", "New"
		case "confirming":
			a.confirming = "k3"
		}
		dump("account unverified "+mode, a)
	}
	uv := shared.User{Username: "alice", Email: "a@x", EmailVerified: true}
	a := &account{session: flow.Session{Status: flow.Loaded, User: &uv, Method: shared.MethodPasskey}, keysStatus: flow.Loaded, keys: keys[:1], sessions: sessions[:1]}
	a.task.Err = err
	busy(&a.task, "Saving…")
	dump("account verified busy", a)
	a = &account{session: flow.Session{Status: flow.Loaded, User: &u}, keysStatus: flow.Loaded, newEmail: "n@x"}
	dump("account noemail", a)

	q := &flow.ConsentQuestion{App: shared.AuthorizationInfo{App: "Grafana"}, Username: "alice", Lines: []string{"A", "B"}}
	dump("consent", &consent{status: flow.Loaded, q: q})
	c := &consent{status: flow.Loaded, q: &flow.ConsentQuestion{App: shared.AuthorizationInfo{App: "G"}, Username: "bob"}}
	c.task.Err = err
	busy(&c.task, "Returning…")
	dump("consent busy", c)
	dump("consent leaving", &consent{status: flow.Loaded, q: q, leaving: true})
	c = &consent{status: flow.LoadFailed}
	c.task.Err = err
	dump("consent failed", c)
	dump("consent loading", &consent{status: flow.Loading})

	l := &logoutPage{status: flow.LoadFailed, request: "a b"}
	l.task.Err = err
	dump("logout failed", l)
	dump("logout loading", &logoutPage{status: flow.Loading})
	dump("logout out", &logoutPage{status: flow.Loaded})
	dump("logout out req", &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{Request: "r", App: "G"}})
	dump("logout out req noapp", &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{Request: "r"}, leaving: true})
	dump("logout q", &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{LoggedIn: true, Request: "r", App: "G"}})
	l = &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{LoggedIn: true}}
	l.task.Err = err
	busy(&l.task, "Logging out…")
	dump("logout q busy", l)

	for _, sess := range []flow.Session{{}, {Status: flow.Loaded}, {Status: flow.LoadFailed}, {Status: flow.Loaded, User: &u}} {
		dump("shell", &shell{Title: "T", session: sess})
		dump("shell banners", &shell{session: sess, toast: "Hi", offline: true, updatable: true, Content: []app.UI{app.Text("x")}})
	}
	_ = errors.New
}
