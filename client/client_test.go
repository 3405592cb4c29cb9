package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStreamParsesEvents(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer pk_test" {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no key"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": a comment\n\nevent: connected\ndata: {}\n\nid: 7\r\nevent: journey\r\ndata: line one\r\ndata:line two\r\n\r\n")
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "").OpenStream(context.Background(), "/", nil); StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("stream without a key: %v, want a 401 *Error", err)
	}
	s, err := New(srv.URL+"/", "pk_test").OpenStream(context.Background(), "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []StreamEvent{{Event: "connected", Data: "{}"}, {ID: "7", Event: "journey", Data: "line one\nline two"}}
	for _, w := range want {
		if got, err := s.Next(); err != nil || got != w {
			t.Fatalf("Next = %+v, %v; want %+v", got, err, w)
		}
	}
	if _, err := s.Next(); err == nil {
		t.Fatal("Next after the last event returned no error")
	}
}

func TestErrorsKeepTheAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/status":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>"+strings.Repeat("proxy error ", 50)+"</html>")
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"invalid","message":"bad","field":"events[0].type"}}`)
		}
	}))
	defer srv.Close()
	c := New(srv.URL, "")
	_, err := c.PostEvents(context.Background(), nil)
	if e, ok := err.(*Error); !ok || e.Status != 400 || e.Code != "invalid" || e.Field != "events[0].type" {
		t.Fatalf("API error = %#v", err)
	}
	_, err = c.Status(context.Background())
	if StatusOf(err) != http.StatusBadGateway || !strings.Contains(err.Error(), "not an API error body") || len(err.Error()) > 300 {
		t.Fatalf("proxy page error = %v", err)
	}
	if StatusOf(fmt.Errorf("network")) != 0 {
		t.Fatal("a plain error has an HTTP status")
	}
}
