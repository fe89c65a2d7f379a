package zoho

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// With as many calls in flight as the client allows, round after round, every call after the
// first round reuses a kept-alive connection: the server sees one connection per slot.
func TestTheDefaultClientKeepsAConnectionPerSlot(t *testing.T) {
	const conc, rounds = 15, 4
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := NewHTTPClient(time.Minute, conc)
	for range rounds {
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	if n := conns.Load(); n > conc {
		t.Errorf("%d connections opened for %d rounds of %d calls, want at most %d", n, rounds, conc, conc)
	}
}
