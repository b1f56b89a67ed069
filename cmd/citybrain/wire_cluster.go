package main

// Several nodes, one platform. With --postgres and --nats every node serves the full API,
// MQTT and the UI; they share the database and the bus. What is shared and what is per node:
//
//   - Once per cluster (goLeaderTask, run by the leader elected in internal/cluster): alert
//     escalation, rule-state snapshots, work-order deadlines, telemetry compaction and
//     retention, device silence sweeps, the governance sweep, KPI push. Alert signals are
//     applied only on the leader (a.leading()), so one reading raises one alert.
//   - On every node, kept in step over the bus: the rule engine (every node evaluates every
//     reading — a hot standby — but only the leader turns signals into alerts; rule changes
//     reach the peers as cluster change notices, see clusterChanged), the device credential
//     cache (peers reload on a notice, and every 15 s anyway), the device status tracker
//     (peers' readings and events count as "seen"), the governance policy (reloaded every
//     10 s), the live push hub (all its subjects come over NATS, from every node).
//   - Per node only: MQTT connections and their persistent sessions (stored under the node's
//     name, see --node), device commands (delivered by the node that took the API call, to a
//     device connected to it), login throttling, the telemetry group-commit queue, the area
//     map cache (reloaded from the store every 10 s), work-order settings (read at start).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/cluster"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/rule"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// nodeName is --node, or HOSTNAME-PORT of the HTTP address (stable across restarts).
func nodeName(cfg *config) string {
	if cfg.Node != "" {
		return cfg.Node
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	if _, port, err := net.SplitHostPort(cfg.HTTP); err == nil && port != "" {
		return host + "-" + port
	}
	return host
}

// newElector elects the leader over the shared PostgreSQL database; with embedded SQLite
// the one node always leads.
func newElector(a *app) *cluster.Elector {
	var locker cluster.Locker
	if a.db.Dialect == store.Postgres {
		locker = busCheckedLocker{Locker: a.db, ping: a.bus.Ping}
	}
	log := a.log.With("component", "cluster", "node", a.node)
	e := cluster.New(cluster.Config{Locker: locker, Log: func(msg string, args ...any) { log.Info(msg, args...) },
		Warn: func(msg string, args ...any) { log.Warn(msg, args...) }})
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "citybrain_cluster_leader",
		Help: "1 while this node runs the once-per-cluster jobs (the leader), else 0."}, func() float64 {
		if e.Leading() {
			return 1
		}
		return 0
	}))
	return e
}

// busCheckedLocker makes a node that lost the bus give up (and not take) the leadership: a
// leader that hears no readings must not hold the rule evaluation.
type busCheckedLocker struct {
	cluster.Locker
	ping func(ctx context.Context) error
}

// TryLock implements cluster.Locker.
func (l busCheckedLocker) TryLock(ctx context.Context, name string) (cluster.Lease, bool, error) {
	if err := l.ping(ctx); err != nil {
		return nil, false, err
	}
	lease, ok, err := l.Locker.TryLock(ctx, name)
	if !ok || err != nil {
		return lease, ok, err
	}
	return busCheckedLease{Lease: lease, ping: l.ping}, true, nil
}

type busCheckedLease struct {
	cluster.Lease
	ping func(ctx context.Context) error
}

// Check implements cluster.Lease.
func (l busCheckedLease) Check(ctx context.Context) error {
	if err := l.ping(ctx); err != nil {
		return err
	}
	return l.Lease.Check(ctx)
}

// Kinds of cluster change notices (bus.SubjectCluster + "." + kind, payload an id).
const (
	clusterRulesKind   = "rules"   // a rule was created, changed or deleted
	clusterDevicesKind = "devices" // a device or its credential was created, changed or deleted
)

// clusterInfo is the answer of GET /api/v1/cluster.
type clusterInfo struct {
	Node         string `json:"node"`
	Leader       bool   `json:"leader"`
	Terms        int64  `json:"terms"`     // times this node became the leader
	Clustered    bool   `json:"clustered"` // leadership decided by a shared lock
	ClusterName  string `json:"cluster_name,omitempty"`
	Store        string `json:"store"`
	NATSEmbedded bool   `json:"nats_embedded"`
}

func clusterRoutes(a *app) []httpapi.Route {
	return []httpapi.Route{{
		Method: "GET", Path: "/api/v1/cluster", Tag: "system", Roles: []string{citybrain.RoleAdmin, citybrain.RoleOperator},
		Summary:  "This node: its name and whether it is the leader running the once-per-cluster jobs (本节点与主节点状态)",
		Response: clusterInfo{},
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			return httpapi.JSON(w, http.StatusOK, clusterInfo{Node: a.node, Leader: a.leading(), Terms: a.leader.Terms(),
				Clustered: a.leader.Clustered(), ClusterName: a.bus.Prefix(), Store: string(a.db.Dialect), NATSEmbedded: a.bus.Embedded()})
		},
	}}
}

// leaderEvery registers a leader task that calls fn every period while this node leads.
func leaderEvery(a *app, name string, period time.Duration, fn func(ctx context.Context) error) {
	a.goLeaderTask(name, func(ctx context.Context) error {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("leader task failed", "task", name, "err", err)
				}
			}
		}
	})
}

// telemetryMaintainEvery is the telemetry.Options.MaintainEvery to use. On a cluster
// (PostgreSQL) it disables the per-node background pass and registers a leader task that
// compacts every minute and applies retention every hour on a.telemetry, so one node does it.
func telemetryMaintainEvery(a *app) time.Duration {
	if a.db.Dialect != store.Postgres {
		return 0 // the default: the telemetry writer maintains on its own
	}
	var lastRetention time.Time
	leaderEvery(a, "telemetry maintenance", time.Minute, func(ctx context.Context) error {
		if a.telemetry == nil {
			return nil
		}
		if err := a.telemetry.Compact(ctx); err != nil {
			return err
		}
		if now := a.clock.Now(); now.Sub(lastRetention) >= time.Hour {
			if err := a.telemetry.EnforceRetention(ctx); err != nil {
				return err
			}
			lastRetention = now
		}
		return nil
	})
	return -1
}

// clusterChanged tells the other nodes that something of kind (a subject token, e.g. "rules")
// changed, with its id; they react through onClusterChange. Subsystems whose services keep
// stored settings in memory use the pair to stay in step across nodes.
func clusterChanged(a *app, kind, id string) {
	if err := a.bus.Publish(bus.SubjectCluster+"."+kind, []byte(id)); err != nil {
		a.log.Warn("cluster: change not published", "kind", kind, "id", id, "err", err)
	}
}

// onClusterChange calls fn for each change of kind another node published (never for this
// node's own: it already acted). fn runs on the bus delivery goroutine, one at a time.
func onClusterChange(a *app, kind string, fn func(ctx context.Context, id string)) error {
	stop, err := a.bus.SubscribePeers(bus.SubjectCluster+"."+kind, func(_ string, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fn(ctx, string(data))
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", kind, err)
	}
	a.onClose(stop)
	return nil
}

// clusterCaches keeps per-node copies of stored settings fresh on a cluster: the governance
// policy in force is reloaded every policyReloadEvery (it changes rarely, through one node).
func clusterCaches(a *app) {
	if a.db.Dialect != store.Postgres || a.governance == nil {
		return
	}
	a.goTask("governance policy reload", func(ctx context.Context) error {
		t := time.NewTicker(policyReloadEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := a.governance.LoadPolicy(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("cluster: governance policy reload failed", "err", err)
				}
			}
		}
	})
}

// policyReloadEvery bounds how long a policy change takes to reach the other nodes.
const policyReloadEvery = 10 * time.Second

// clusterRuleRepo is the rules' repository that tells the peers when a rule changed, so
// their engines stay in step with the node that took the API call.
type clusterRuleRepo struct {
	*store.DB
	a *app
}

func (r clusterRuleRepo) changed(id string) { clusterChanged(r.a, clusterRulesKind, id) }

// after announces the change of id to the other nodes when the write succeeded.
func (r clusterRuleRepo) after(err error, id string) error {
	if err == nil {
		r.changed(id)
	}
	return err
}

// CreateRule implements rule.Repository.
func (r clusterRuleRepo) CreateRule(ctx context.Context, x rule.Rule) error {
	return r.after(r.DB.CreateRule(ctx, x), x.ID)
}

// UpdateRule implements rule.Repository.
func (r clusterRuleRepo) UpdateRule(ctx context.Context, x rule.Rule) error {
	return r.after(r.DB.UpdateRule(ctx, x), x.ID)
}

// DeleteRule implements rule.Repository.
func (r clusterRuleRepo) DeleteRule(ctx context.Context, id string) error {
	return r.after(r.DB.DeleteRule(ctx, id), id)
}

var _ rule.Repository = clusterRuleRepo{}

// clusterRules syncs the engine with the rule changes other nodes publish. Each time this
// node becomes the leader it calls takeover, which queues a marker for the alert worker; the
// worker then applies missedAlerts — in order with the signals queued before and after it,
// so a state that changes meanwhile is never applied out of turn.
func clusterRules(a *app, engine *rule.Engine, feed func([]rule.Signal), takeover func()) error {
	err := onClusterChange(a, clusterRulesKind, func(ctx context.Context, id string) {
		r, err := a.db.GetRule(ctx, id)
		switch {
		case citybrain.ErrorCode(err) == citybrain.ENOTFOUND:
			feed(engine.Remove(id))
		case err != nil:
			a.log.Warn("cluster: reload rule failed", "rule", id, "err", err)
		default:
			sigs, err := engine.Upsert(r)
			if err != nil {
				a.log.Warn("cluster: rule from a peer not loaded", "rule", id, "err", err)
				return
			}
			feed(sigs)
		}
	})
	if err != nil {
		return err
	}
	if a.leader != nil && a.leader.Clustered() {
		a.goLeaderTask("rule takeover", func(ctx context.Context) error {
			takeover()
			<-ctx.Done()
			return nil
		})
	}
	return nil
}

// missedAlerts returns the engine's pending and firing states that no alert records — none
// open, none started since the condition began (an operator may have resolved that one):
// their signals fell into the gap between the old leader's death and this node's takeover
// (the engine evaluated them as a standby, but only a leader applies). An alert that should
// have resolved in the gap stays open until its condition changes again.
func missedAlerts(ctx context.Context, a *app, engine *rule.Engine) []rule.Signal {
	var missed []rule.Signal
	for _, s := range engine.States() {
		entity := s.Entity
		if entity == "" {
			entity = s.DeviceID
		}
		open, err := a.db.FindOpenAlert(ctx, s.RuleID, entity)
		if err != nil || open != nil {
			continue
		}
		recorded, err := a.db.ListAlerts(ctx, alert.Filter{RuleID: s.RuleID, Entity: entity, From: s.Since, Limit: 1})
		if err == nil && len(recorded) == 0 {
			missed = append(missed, s)
		}
	}
	if len(missed) > 0 {
		a.log.Info("cluster: raising alerts missed during the leader change", "count", len(missed))
	}
	return missed
}

// clusterDeviceRepo is the device registry's repository that tells the peers when a device
// or its credential changed, so they reload their credential caches at once.
type clusterDeviceRepo struct {
	*store.DB
	a *app
}

func (r clusterDeviceRepo) changed(id string) { clusterChanged(r.a, clusterDevicesKind, id) }

// after announces the change of id to the other nodes when the write succeeded.
func (r clusterDeviceRepo) after(err error, id string) error {
	if err == nil {
		r.changed(id)
	}
	return err
}

// CreateDevice implements device.Repository.
func (r clusterDeviceRepo) CreateDevice(ctx context.Context, d device.Device, c device.Credential) error {
	return r.after(r.DB.CreateDevice(ctx, d, c), d.ID)
}

// UpdateDevice implements device.Repository.
func (r clusterDeviceRepo) UpdateDevice(ctx context.Context, d device.Device) error {
	return r.after(r.DB.UpdateDevice(ctx, d), d.ID)
}

// DeleteDevice implements device.Repository.
func (r clusterDeviceRepo) DeleteDevice(ctx context.Context, id string) error {
	return r.after(r.DB.DeleteDevice(ctx, id), id)
}

// SetDeviceCredential implements device.Repository.
func (r clusterDeviceRepo) SetDeviceCredential(ctx context.Context, c device.Credential) error {
	return r.after(r.DB.SetDeviceCredential(ctx, c), c.DeviceID)
}

var _ device.Repository = clusterDeviceRepo{}

// clusterDevices keeps this node's device caches in step with its peers: a device changed
// elsewhere reloads the credential cache, readings stored by a peer update telemetry's latest
// values, and readings and events stored by a peer count as the device being seen (so silence
// is judged cluster-wide). When this node leads and such a
// message ends a device's silence, report decides the status change (it publishes it).
func clusterDevices(a *app, status *device.StatusTracker, report func(device.Status)) error {
	err := onClusterChange(a, clusterDevicesKind, func(ctx context.Context, id string) {
		if err := a.devices.Load(ctx); err != nil {
			a.log.Warn("cluster: device reload failed", "device", id, "err", err)
			return
		}
		if _, err := a.db.GetDevice(ctx, id); citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			status.Forget(id)
		}
	})
	if err != nil {
		return err
	}
	subs := map[string]func(data []byte){
		bus.SubjectTelemetry + ".>": func(data []byte) {
			var m bus.TelemetryMsg
			if json.Unmarshal(data, &m) != nil || m.Device == "" {
				return
			}
			if a.telemetry != nil { // latest values, whichever node stored them
				rs := make([]telemetry.Reading, len(m.Readings))
				for i, p := range m.Readings {
					rs[i] = telemetry.Reading{DeviceID: m.Device, Measurement: p.M, TS: p.TS, Value: p.V}
				}
				a.telemetry.Observe(rs)
			}
			var v device.StatusValues
			for _, p := range m.Readings {
				switch p.M {
				case device.KeyBattery:
					v.Has, v.Battery = v.Has|device.HasBattery, p.V
				case device.KeyRSSI:
					v.Has, v.RSSI = v.Has|device.HasRSSI, p.V
				case device.KeySignal:
					v.Has, v.Signal = v.Has|device.HasSignal, p.V
				}
			}
			seen(a, status, m.Device, v, report)
		},
		bus.SubjectEvents + ".>": func(data []byte) {
			var m bus.EventMsg
			if json.Unmarshal(data, &m) == nil && m.Device != "" {
				seen(a, status, m.Device, device.StatusValues{}, report)
			}
		},
	}
	for subject, fn := range subs {
		fn := fn
		stop, err := a.bus.SubscribePeers(subject, func(_ string, data []byte) { fn(data) })
		if err != nil {
			return fmt.Errorf("cluster: subscribe %s: %w", subject, err)
		}
		a.onClose(stop)
	}
	return nil
}

func seen(a *app, status *device.StatusTracker, id string, v device.StatusValues, report func(device.Status)) {
	now := a.clock.Now()
	if status.Seen(id, now.UnixMilli(), v) && a.leading() && report != nil {
		report(status.Get(id, now))
	}
}

// nodeBrokerState keeps this node's MQTT session state apart from its peers' in the shared
// store: the node name prefixes every kind. A device that reconnects to another node starts
// a session there (QoS 1 messages queued on the first node wait for it to come back).
type nodeBrokerState struct {
	st   device.BrokerStateStore
	node string
}

// brokerState returns the MQTT session store for this node: the database itself on a single
// node (as before), scoped by node name on a cluster.
func brokerState(a *app) device.BrokerStateStore {
	if a.db.Dialect != store.Postgres {
		return a.db
	}
	return nodeBrokerState{st: a.db, node: a.node}
}

// ApplyBrokerState implements device.BrokerStateStore.
func (n nodeBrokerState) ApplyBrokerState(ctx context.Context, ops []device.BrokerStateOp) error {
	scoped := make([]device.BrokerStateOp, len(ops))
	for i, op := range ops {
		op.Kind = n.node + "/" + op.Kind
		scoped[i] = op
	}
	return n.st.ApplyBrokerState(ctx, scoped)
}

// BrokerStates implements device.BrokerStateStore.
func (n nodeBrokerState) BrokerStates(ctx context.Context, kind string) ([][]byte, error) {
	return n.st.BrokerStates(ctx, n.node+"/"+kind)
}
