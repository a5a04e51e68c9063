package integration

// The topology page in a real browser (docs/operations.md): three skiff
// nodes in one Raft group — two masters and a replica of the first —,
// the page of a surviving node open in headless Chromium (chromedp);
// the first master is killed with kill -9 and the page must show its
// replica as master within 2 s of the metadata recording the failover.
// A screenshot is saved under integration/artifacts/ (gitignored).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"
)

// chromiumPath finds the browser scripts/install-deps.sh installs.
func chromiumPath() string {
	if p := os.Getenv("SKIFF_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium with a fresh profile and the flags
// a closed network needs (no background fetches, no QUIC).
func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium not installed (scripts/install-deps.sh installs it)")
	}
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 1400),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	return bctx, func() { cancelB(); cancelA() }
}

func TestOpsTopologyPageShowsFailover(t *testing.T) {
	if chromiumPath() == "" {
		t.Skip("chromium not installed (scripts/install-deps.sh installs it)")
	}
	nodes := startRaftCluster(t, 3, "--raft-nosync", "yes", "--repl-diskless-sync-delay", "0",
		"--cluster-node-timeout", "500")
	ctx := context.Background()
	rc := func(n *raftNode) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: n.respAddr(), MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	m1, m2, r1 := nodes[0], nodes[1], nodes[2]
	if err := rc(m1).Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "8191").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc(m2).Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	st1, err := m1.client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc(r1).Do(ctx, "CLUSTER", "REPLICATE", st1.ID).Err(); err != nil {
		t.Fatal(err)
	}
	// The replica must have synced, or it may not be promoted.
	waitRaft(t, "replica in sync", 20*time.Second, func() (bool, string) {
		txt, err := rc(r1).Info(ctx, "replication").Result()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(txt, "master_link_status:up"), txt
	})

	bctx, cancel := newBrowser(t)
	defer cancel()
	tctx, tcancel := context.WithTimeout(bctx, 30*time.Second)
	defer tcancel()
	url := "http://" + m2.adminAddr() + "/"
	sel := func(addr, role string) string {
		return fmt.Sprintf(`tr[data-addr=%q][data-role=%q]`, addr, role)
	}
	// The page as loaded: both masters, the replica online.
	if err := chromedp.Do(tctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(sel(m1.respAddr(), "master"))),
		chromedp.WaitVisible(chromedp.CSS(sel(r1.respAddr(), "replica")+`[data-link="online"]`)),
	); err != nil {
		t.Fatalf("page before the failover: %v", err)
	}

	m1.kill()
	killed := time.Now()
	// Watch the metadata (on the same surviving node) and the page
	// side by side.
	var metaAt time.Time
	metaDone := make(chan struct{})
	go func() {
		defer close(metaDone)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			cl, err := m2.client().Cluster(ctx)
			if err == nil {
				for _, n := range cl.Nodes {
					if n.Addr == r1.respAddr() && n.Role == "master" {
						metaAt = time.Now()
						return
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(sel(r1.respAddr(), "master")))); err != nil {
		t.Fatalf("the page never showed %s as master: %v", r1.respAddr(), err)
	}
	pageAt := time.Now()
	<-metaDone
	if metaAt.IsZero() {
		t.Fatalf("the metadata never recorded the promotion")
	}
	lag := pageAt.Sub(metaAt)
	t.Logf("kill -9 → metadata promotion %v, → page %v (page behind the metadata by %v)",
		metaAt.Sub(killed).Round(time.Millisecond), pageAt.Sub(killed).Round(time.Millisecond), lag.Round(time.Millisecond))
	if lag > 2*time.Second {
		t.Errorf("the page showed the failover %v after the metadata recorded it, want ≤ 2 s", lag)
	}
	// The event list shows the failover with its timing.
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`#events li[data-kind="failover"]`))); err != nil {
		t.Fatalf("no failover event on the page: %v", err)
	}
	evText, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#events li[data-kind="failover"]`)))
	if err != nil {
		t.Fatalf("no failover event on the page: %v", err)
	}
	if !strings.Contains(evText, r1.respAddr()) || !strings.Contains(evText, "promoted") {
		t.Errorf("failover event %q does not name the promoted replica", evText)
	}
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)) // 100 gives a PNG, below a JPEG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "topology-after-failover.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes), event: %s", out, len(png), evText)
	// A phone-sized screen: the same page must still show the nodes
	// (the shard tables fold into labelled blocks).
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(390, 844),
		chromedp.WaitVisible(chromedp.CSS(sel(r1.respAddr(), "master")))); err != nil {
		t.Fatalf("phone-sized viewport: %v", err)
	}
	phone, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "topology-phone.png"), phone, 0o644); err != nil {
		t.Fatal(err)
	}
}
