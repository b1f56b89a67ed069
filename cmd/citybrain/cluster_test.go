package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/store/storetest"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

type clusterNode struct {
	*proc
	c *client
}

func (n clusterNode) info(t *testing.T) clusterInfo {
	t.Helper()
	var ci clusterInfo
	if code := n.c.do("GET", "/api/v1/cluster", nil, &ci); code != 200 {
		t.Fatalf("GET /api/v1/cluster: %d", code)
	}
	return ci
}

// liveEvents reads node's SSE stream and sends the data of every event of type typ.
func liveEvents(t *testing.T, ctx context.Context, n clusterNode, typ string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", n.base+"/api/v1/live?types="+typ, nil)
	req.Header.Set("Authorization", "Bearer "+n.c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		t.Fatalf("live stream: %d", resp.StatusCode)
	}
	out := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:") && event == typ:
				select {
				case out <- strings.TrimSpace(strings.TrimPrefix(line, "data:")):
				default:
				}
			case line == "":
				event = ""
			}
		}
	}()
	return out
}

// clusterAlert is an alert as the API returns it, with the number of signals folded in.
type clusterAlert struct {
	e2eAlert
	Count int `json:"count"`
}

// alertsOf lists every alert (any status) of a rule through node's API.
func alertsOf(t *testing.T, n clusterNode, ruleID string) []clusterAlert {
	t.Helper()
	var page struct {
		Items []clusterAlert `json:"items"`
	}
	if code := n.c.do("GET", "/api/v1/alerts?limit=500&rule="+ruleID, nil, &page); code != 200 {
		t.Fatalf("alerts: %d", code)
	}
	return page.Items
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestClusterTwoNodes runs two `citybrain serve` processes on one PostgreSQL schema and one
// external NATS server (a subject prefix of its own, so concurrent runs stay apart): a device
// and a rule created on node A, another rule created on node B, a reading published over MQTT
// to node B raises exactly one alert per rule (one evaluator acts), seen through A's API and
// A's live stream; then A is killed with SIGKILL, B takes over the once-per-cluster jobs, and
// readings on B resolve the alert and raise a new one.
func TestClusterTwoNodes(t *testing.T) {
	pg, natsURL := os.Getenv(storetest.EnvPostgres), os.Getenv("CITYBRAIN_TEST_NATS")
	if pg == "" || natsURL == "" {
		t.Skip("needs CITYBRAIN_TEST_POSTGRES and CITYBRAIN_TEST_NATS")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := storetest.URLWithSchema(t, pg, storetest.FreshSchema(t, pg))
	rnd := make([]byte, 6)
	_, _ = rand.Read(rnd)
	clusterName := "cbtest_" + hex.EncodeToString(rnd)
	const token = "cluster-admin-token-0123456789"
	env := []string{"CITYBRAIN_ADMIN_TOKEN=" + token}
	start := func(name, data string) clusterNode {
		p := startProc(t, env, "serve", "--data", data, "--postgres", dbURL, "--nats", natsURL,
			"--cluster-name", clusterName, "--node", name)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s output:\n%s", name, p.output())
			}
		})
		return clusterNode{p, &client{t: t, base: p.base, token: token}}
	}

	dataA, dataB := t.TempDir(), t.TempDir()
	a := start("node-a", dataA)
	// Every node needs the same keys (audit signing, governance pseudonyms): copy them.
	keys, _ := filepath.Glob(filepath.Join(dataA, "*.key"))
	if len(keys) == 0 {
		t.Fatalf("node A wrote no key files in its data directory")
	}
	for _, k := range keys {
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataB, filepath.Base(k)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "node A leads", func() bool { return a.info(t).Leader })
	b := start("node-b", dataB)
	if ib := b.info(t); ib.Leader || !ib.Clustered || ib.Node != "node-b" || ib.ClusterName != clusterName || ib.NATSEmbedded {
		t.Fatalf("node B: %+v (want a follower on the external NATS)", ib)
	}
	if ia := a.info(t); !ia.Leader || ia.Node != "node-a" {
		t.Fatalf("node A: %+v (want the leader)", ia)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := liveEvents(t, ctx, a, "alert")

	var dev struct {
		HTTP struct {
			Password string `json:"password"`
		} `json:"http"`
	}
	if code := a.c.do("POST", "/api/v1/devices", map[string]any{"id": "cl-ws-1", "profile": "drain_level"}, &dev); code != 201 {
		t.Fatalf("create device on A: %d", code)
	}
	if code := a.c.do("POST", "/api/v1/rules", map[string]any{"id": "cl-high", "name": "积水超过30厘米", "profile": "drain_level",
		"condition": "level_cm > 30", "for": "0s", "severity": "critical"}, nil); code != 201 {
		t.Fatalf("create rule on A: %d", code)
	}
	// a rule created on the follower must reach the leader's engine
	if code := b.c.do("POST", "/api/v1/rules", map[string]any{"id": "cl-very-high", "name": "积水超过40厘米", "profile": "drain_level",
		"condition": "level_cm > 40", "for": "0s", "severity": "warning"}, nil); code != 201 {
		t.Fatalf("create rule on B: %d", code)
	}

	// each rule reaches the other node's engine (a change notice over the bus)
	for _, x := range []struct {
		n    clusterNode
		rule string
	}{{a, "cl-very-high"}, {b, "cl-high"}} {
		waitUntil(t, x.rule+" in the other node's engine", func() bool {
			var v struct {
				Health *struct{} `json:"health"`
			}
			return x.n.c.do("GET", "/api/v1/rules/"+x.rule, nil, &v) == 200 && v.Health != nil
		})
	}

	// The device connects to node B (its credential reaches B's cache over the bus).
	var cl pahov3.Client
	waitUntil(t, "the device can connect to node B", func() bool {
		o := pahov3.NewClientOptions().AddBroker("tcp://" + b.mqtt).SetClientID("cl-ws-1").SetUsername("cl-ws-1").
			SetPassword(dev.HTTP.Password).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(true)
		cl = pahov3.NewClient(o)
		tok := cl.Connect()
		return tok.WaitTimeout(10*time.Second) && tok.Error() == nil
	})
	publish := func(v float64) {
		t.Helper()
		tok := cl.Publish("devices/cl-ws-1/telemetry", 1, false, fmt.Sprintf(`{"ts": %d, "values": {"level_cm": %g}}`, time.Now().UnixMilli(), v))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish to node B: %v", tok.Error())
		}
	}
	publish(55)

	fired := waitAlerts(t, a.c, "cl-high", "cl-very-high")
	for _, rule := range []string{"cl-high", "cl-very-high"} {
		// The store keeps one open alert per rule and device, so a second evaluator shows as
		// a second signal folded into it (count 2) or as its failed attempt in the log. Both
		// nodes get the reading at the same moment, so it would have acted by now.
		if got := alertsOf(t, a, rule); len(got) != 1 || got[0].Count != 1 {
			t.Fatalf("rule %s: alerts through node A %+v, want exactly 1 from exactly one signal", rule, got)
		}
		if got := alertsOf(t, b, rule); len(got) != 1 || got[0].ID != fired[rule].ID {
			t.Fatalf("rule %s: node B sees %+v, want the one alert %d", rule, got, fired[rule].ID)
		}
	}
	firstID := fired["cl-high"].ID
	for _, n := range []clusterNode{a, b} {
		if out := n.output(); strings.Contains(out, "alert apply failed") {
			t.Fatalf("a node applied a signal another node had applied:\n%s", out)
		}
	}
	// node A's live stream carries the alert raised from a reading that node B received
	waitUntil(t, "the alert on node A's live stream", func() bool {
		select {
		case d := <-live:
			var ch struct {
				Alert struct {
					ID     int64  `json:"id"`
					RuleID string `json:"rule_id"`
				} `json:"alert"`
			}
			return json.Unmarshal([]byte(d), &ch) == nil && ch.Alert.ID == firstID && ch.Alert.RuleID == "cl-high"
		default:
			return false
		}
	})

	// node A answers with the latest value although node B stored it
	var latest struct {
		Measurements map[string]struct {
			Value float64 `json:"value"`
		} `json:"measurements"`
	}
	waitUntil(t, "node A's latest value of the reading node B stored", func() bool {
		return a.c.do("GET", "/api/v1/devices/cl-ws-1/telemetry/latest", nil, &latest) == 200 && latest.Measurements["level_cm"].Value == 55
	})

	// Kill the leader; B takes over the once-per-cluster jobs.
	a.kill()
	waitUntil(t, "node B leads", func() bool { return b.info(t).Leader })
	if ib := b.info(t); ib.Terms != 1 {
		t.Fatalf("node B after failover: %+v", ib)
	}

	// A reading on B now resolves the alerts (B's engine was a hot standby) ...
	publish(12)
	waitUntil(t, "the alert resolves on node B", func() bool {
		var al e2eAlert
		return b.c.do("GET", fmt.Sprintf("/api/v1/alerts/%d", firstID), nil, &al) == 200 && al.Status == "resolved"
	})
	// ... and another raises a new one, once.
	publish(35)
	waitUntil(t, "a new alert on node B", func() bool {
		for _, al := range alertsOf(t, b, "cl-high") {
			if al.ID != firstID && al.Status == "firing" {
				return true
			}
		}
		return false
	})
	if got := alertsOf(t, b, "cl-high"); len(got) != 2 {
		t.Fatalf("rule cl-high after failover: %d alerts, want 2 (one resolved, one firing): %+v", len(got), got)
	}
	if got := alertsOf(t, b, "cl-very-high"); len(got) != 1 || got[0].Status != "resolved" || got[0].Count != 1 {
		t.Fatalf("rule cl-very-high after failover: %+v, want its one alert resolved", got)
	}

	// A rejoins as a follower. Then B is killed and a reading reaches A at once, most likely
	// before A has taken over: the alert must still be raised, once, by the new leader.
	cl.Disconnect(100)
	a = start("node-a", dataA)
	if ia := a.info(t); ia.Leader || ia.Terms != 0 {
		t.Fatalf("restarted node A: %+v, want a follower", ia)
	}
	postTelemetry(t, a.base, "cl-ws-1", dev.HTTP.Password, time.Now(), map[string]float64{"level_cm": 12})
	waitUntil(t, "the second cl-high alert resolves (reading on the follower)", func() bool {
		for _, al := range alertsOf(t, a, "cl-high") {
			if al.Status != "resolved" {
				return false
			}
		}
		return true
	})
	b.kill()
	postTelemetry(t, a.base, "cl-ws-1", dev.HTTP.Password, time.Now(), map[string]float64{"level_cm": 60})
	waitUntil(t, "node A leads again", func() bool { return a.info(t).Leader })
	for rule, want := range map[string]int{"cl-high": 3, "cl-very-high": 2} {
		waitUntil(t, "a firing "+rule+" alert after the second failover", func() bool {
			got := alertsOf(t, a, rule)
			return len(got) == want && got[0].Status == "firing"
		})
		got := alertsOf(t, a, rule)
		for i, al := range got {
			if (i == 0) != (al.Status == "firing") || al.Count != 1 {
				t.Fatalf("rule %s after the second failover: %+v, want the newest firing, the rest resolved, one signal each", rule, got)
			}
		}
	}

	// Both nodes wrote the one audit log with the shared key: it verifies.
	a.stop(t)
	out, err := exec.Command(binary(t), "audit", "verify", "--postgres", dbURL, "--data", dataA).CombinedOutput()
	if err != nil {
		t.Fatalf("audit verify after two writers: %v\n%s", err, out)
	}
	t.Logf("audit verify: %s", out)
}
