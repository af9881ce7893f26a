package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheckAsksTheLocalServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	addr := ":" + srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	if err := healthcheck(addr); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	srv.Close()
	if err := healthcheck(addr); err == nil {
		t.Fatal("stopped server reported healthy")
	}
}
