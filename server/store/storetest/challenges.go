package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

// ChallengeStore runs the auth.ChallengeStore contract. open must return a
// fresh, empty store for each subtest; the subtests run in parallel.
//
// Expiry is tested with real time (a 50ms ttl, then a 150ms wait), since a
// Redis server's clock cannot be injected.
func ChallengeStore(t *testing.T, open func(t *testing.T) auth.ChallengeStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st auth.ChallengeStore)
	}{
		{"put then take returns the value", chalPutTake},
		{"a value can be taken only once", chalTakeOnce},
		{"taking an unknown key is ErrNotFound", chalUnknown},
		{"put replaces an earlier value", chalReplace},
		{"values come back byte for byte", chalByteExact},
		{"keys do not interfere", chalKeysApart},
		{"put copies the value it is given", chalCopyIn},
		{"a value expires after its ttl", chalExpiry},
		{"a non-positive ttl is refused", chalBadTTL},
		{"of concurrent takers exactly one gets the value", chalConcurrentTake},
		{"peek returns the value and leaves it to take", chalPeek},
		{"peeking an unknown or expired key is ErrNotFound", chalPeekMissing},
		{"peek hands out a copy", chalPeekCopy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const chalTTL = time.Minute

func chalCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func chalPut(t *testing.T, st auth.ChallengeStore, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := st.Put(chalCtx(t), key, v, ttl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func chalWant(t *testing.T, st auth.ChallengeStore, key string, want []byte) {
	t.Helper()
	got, err := st.Take(chalCtx(t), key)
	if err != nil {
		t.Fatalf("Take(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Take(%q) = %x, want %x", key, got, want)
	}
}

func chalWantNotFound(t *testing.T, st auth.ChallengeStore, key string) {
	t.Helper()
	got, err := st.Take(chalCtx(t), key)
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Take(%q) = %x, %v; want ErrNotFound", key, got, err)
	}
}

func chalPutTake(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "webauthn:abc", []byte(`{"challenge":"xyz"}`), chalTTL)
	chalWant(t, st, "webauthn:abc", []byte(`{"challenge":"xyz"}`))
}

func chalTakeOnce(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "k", []byte("v"), chalTTL)
	chalWant(t, st, "k", []byte("v"))
	chalWantNotFound(t, st, "k")
}

func chalUnknown(t *testing.T, st auth.ChallengeStore) {
	chalWantNotFound(t, st, "never-put")
}

func chalReplace(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "k", []byte("first"), chalTTL)
	chalPut(t, st, "k", []byte("second"), chalTTL)
	chalWant(t, st, "k", []byte("second"))
	chalWantNotFound(t, st, "k")
}

func chalByteExact(t *testing.T, st auth.ChallengeStore) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for name, v := range map[string][]byte{
		"zeros":     {0, 0, 0},
		"inner-nul": []byte("a\x00b\r\n\xff"),
		"all-bytes": all,
		"empty":     {},
	} {
		chalPut(t, st, name, v, chalTTL)
		chalWant(t, st, name, v)
	}
}

func chalKeysApart(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "a", []byte("1"), chalTTL)
	chalPut(t, st, "b", []byte("2"), chalTTL)
	chalWant(t, st, "b", []byte("2"))
	chalWant(t, st, "a", []byte("1"))
}

func chalCopyIn(t *testing.T, st auth.ChallengeStore) {
	v := []byte("original")
	chalPut(t, st, "k", v, chalTTL)
	copy(v, "mutated!")
	chalWant(t, st, "k", []byte("original"))
}

func chalExpiry(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "short", []byte("v"), 50*time.Millisecond)
	chalPut(t, st, "long", []byte("v"), chalTTL)
	time.Sleep(150 * time.Millisecond)
	chalWantNotFound(t, st, "short")
	chalWant(t, st, "long", []byte("v"))
}

func chalBadTTL(t *testing.T, st auth.ChallengeStore) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := st.Put(chalCtx(t), "k", []byte("v"), ttl); err == nil {
			t.Errorf("Put with ttl %v succeeded; want an error", ttl)
		}
	}
	chalWantNotFound(t, st, "k")
}

func chalConcurrentTake(t *testing.T, st auth.ChallengeStore) {
	const takers = 20
	chalPut(t, st, "contested", []byte("prize"), chalTTL)
	ctx := chalCtx(t)
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  int
		failures []error
	)
	for range takers {
		wg.Go(func() {
			<-start
			v, err := st.Take(ctx, "contested")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && string(v) == "prize":
				winners++
			case errors.Is(err, auth.ErrNotFound):
			case err != nil:
				failures = append(failures, err)
			default:
				failures = append(failures, errors.New("unexpected value "+string(v)))
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("Take: %v", err)
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent takers got the value; want exactly 1", winners, takers)
	}
}

func chalPeek(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "k", []byte("v"), chalTTL)
	for range 2 {
		got, err := st.Peek(chalCtx(t), "k")
		if err != nil || string(got) != "v" {
			t.Fatalf("Peek = %q, %v; want v", got, err)
		}
	}
	chalWant(t, st, "k", []byte("v"))
	if got, err := st.Peek(chalCtx(t), "k"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Peek after Take = %q, %v; want ErrNotFound", got, err)
	}
}

func chalPeekMissing(t *testing.T, st auth.ChallengeStore) {
	if got, err := st.Peek(chalCtx(t), "never-put"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Peek(never-put) = %q, %v; want ErrNotFound", got, err)
	}
	chalPut(t, st, "short", []byte("v"), 50*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	if got, err := st.Peek(chalCtx(t), "short"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Peek of an expired value = %q, %v; want ErrNotFound", got, err)
	}
}

func chalPeekCopy(t *testing.T, st auth.ChallengeStore) {
	chalPut(t, st, "k", []byte("original"), chalTTL)
	got, err := st.Peek(chalCtx(t), "k")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "mutated!")
	chalWant(t, st, "k", []byte("original"))
}
