package migrations

import (
	"fmt"
	"strings"
	"testing"
)

func TestEmailKeyCollisionsStayOneLineHoweverManyCollide(t *testing.T) {
	byKey := map[string][]emailKeyUser{}
	var keys []string
	for g := range 40 {
		k := fmt.Sprintf("k%d", g)
		keys = append(keys, k)
		for i := range 5 {
			// Usernames as long as they may be (32 characters).
			byKey[k] = append(byKey[k], emailKeyUser{ID: int64(g*5 + i), Username: fmt.Sprintf("user%028d", g*5+i)})
		}
	}
	byKey["alone"] = []emailKeyUser{{ID: 999, Username: "alone"}}
	keys = append(keys, "alone")
	msg := emailKeyCollisions(keys, byKey)
	u := func(id int) string { return fmt.Sprintf("%d (user%028d)", id, id) }
	if !strings.HasPrefix(msg, "40 group(s)") ||
		!strings.Contains(msg, "users "+u(0)+", "+u(1)+", "+u(2)+", 2 more; users "+u(5)+", ") ||
		!strings.Contains(msg, "and 37 more group(s)") || strings.Contains(msg, u(15)) || strings.Contains(msg, "alone") {
		t.Fatalf("report: %s", msg)
	}
	if len(msg) > 800 || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("report is not one short line (%d bytes): %s", len(msg), msg)
	}
	if got := emailKeyCollisions([]string{"alone"}, byKey); got != "" {
		t.Fatalf("no collision reported as %q", got)
	}
}
