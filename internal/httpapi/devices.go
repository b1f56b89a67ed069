package httpapi

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/ingest"
)

// DeviceDeps are what the device routes need. Broker is nil when MQTT is off (commands are then
// refused); Quarantine may be nil (recent rejections then come from memory only).
type DeviceDeps struct {
	Registry   *device.Service
	Ingest     *ingest.Ingestor
	Broker     *ingest.Broker
	Events     device.EventStore
	Quarantine device.QuarantineStore
	// MQTTAddr is the broker's listen address as configured (":1883"); the host devices should
	// dial defaults to the host of the API request.
	MQTTAddr string
	// MaxPayload is the telemetry size limit in bytes.
	MaxPayload int
	Clock      citybrain.Clock
	// AreaAt, if set, returns the code of the area at level ("district", "street", "community",
	// "grid") that contains the area code, so device health can be rolled up to streets.
	AreaAt func(code, level string) (string, bool)
}

// DeviceView is a device with its live status.
type DeviceView struct {
	device.Device
	Status device.Status `json:"status"`
}

// MQTTCredentials tells a device how to connect to the broker.
type MQTTCredentials struct {
	Host     string            `json:"host"`
	Port     int               `json:"port"`
	URL      string            `json:"url"`
	Username string            `json:"username"`
	Password string            `json:"password"`
	ClientID string            `json:"client_id"`
	Topics   map[string]string `json:"topics"`
}

// HTTPCredentials tells a device how to post over HTTP.
type HTTPCredentials struct {
	TelemetryURL string `json:"telemetry_url"`
	EventsURL    string `json:"events_url"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	Auth         string `json:"auth"`
}

// DeviceCredentialsReply carries a device's secret: it is shown only in this reply.
type DeviceCredentialsReply struct {
	Device DeviceView      `json:"device"`
	MQTT   MQTTCredentials `json:"mqtt"`
	HTTP   HTTPCredentials `json:"http"`
	Note   string          `json:"note"`
}

// ProfilesReply lists the device profiles and facility kinds.
type ProfilesReply struct {
	Profiles      []*device.Profile     `json:"profiles"`
	FacilityKinds []device.FacilityKind `json:"facility_kinds"`
}

// CommandRequest is a downlink command.
type CommandRequest struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
}

// EventsAccepted acknowledges stored events.
type EventsAccepted struct {
	Accepted int `json:"accepted"`
}

type deviceHandlers struct {
	s *Server
	d DeviceDeps
}

// DeviceRoutes serves the device registry, the HTTP telemetry and event doors, quarantine,
// commands and device health.
func DeviceRoutes(s *Server, d DeviceDeps) []Route {
	h := deviceHandlers{s: s, d: d}
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	managers := []string{citybrain.RoleAdmin, citybrain.RoleOperator}
	maxBody := int64(4*d.MaxPayload + 4096)
	if d.MaxPayload <= 0 {
		maxBody = 1 << 20
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/profiles", Tag: "devices", Roles: staff, Summary: "List device profiles (设备型号) and facility kinds",
			Response: ProfilesReply{}, Handle: h.profiles},
		{Method: "POST", Path: "/api/v1/devices", Tag: "devices", Roles: managers, Dataset: "devices",
			Summary: "Register a device; the reply carries its MQTT/HTTP credentials, shown once",
			Request: device.Input{}, Response: DeviceCredentialsReply{}, Handle: h.create},
		{Method: "GET", Path: "/api/v1/devices", Tag: "devices", Roles: staff, Dataset: "devices", Summary: "List devices with their status",
			Query: map[string]string{"area": "area code", "profile": "profile code", "facility": "facility id",
				"status": "online, offline, silent, never_seen or disabled", "limit": "1–1000, default 100", "cursor": "next_cursor of the previous page"},
			Response: Page[DeviceView]{}, Handle: h.list},
		{Method: "GET", Path: "/api/v1/devices/{id}", Tag: "devices", Roles: staff, Dataset: "devices", Summary: "Get a device with its status",
			Response: DeviceView{}, Handle: h.get},
		{Method: "PATCH", Path: "/api/v1/devices/{id}", Tag: "devices", Roles: managers, Dataset: "devices", Summary: "Update a device (fields left out are kept)",
			Request: device.Patch{}, Response: DeviceView{}, Handle: h.update},
		{Method: "POST", Path: "/api/v1/devices/{id}/disable", Tag: "devices", Roles: managers, Dataset: "devices",
			Summary: "Disable a device: it can no longer connect and its live connections are closed", Response: DeviceView{}, Handle: h.setDisabled(true)},
		{Method: "POST", Path: "/api/v1/devices/{id}/enable", Tag: "devices", Roles: managers, Dataset: "devices",
			Summary: "Enable a disabled device", Response: DeviceView{}, Handle: h.setDisabled(false)},
		{Method: "DELETE", Path: "/api/v1/devices/{id}", Tag: "devices", Roles: managers, Summary: "Delete a device (its stored readings stay)",
			Handle: h.delete},
		{Method: "POST", Path: "/api/v1/devices/{id}/credentials", Tag: "devices", Roles: managers, Dataset: "devices",
			Summary: "Rotate a device's secret; the new one is shown once and the old one stops working", Response: DeviceCredentialsReply{}, Handle: h.rotate},
		{Method: "POST", Path: "/api/v1/devices/{id}/telemetry", Tag: "devices", Auth: AuthDevice, MaxBody: maxBody,
			Summary: "Device door: post readings with the device's own credentials; 2xx only once they are stored durably",
			Request: map[string]float64{"level_cm": 12.5, "battery": 87}, Response: ingest.Result{}, Handle: h.telemetry},
		{Method: "POST", Path: "/api/v1/devices/{id}/events", Tag: "devices", Auth: AuthDevice, MaxBody: maxBody,
			Summary: "Device door: post events ({\"type\", \"ts\", \"data\"} or an array) with the device's credentials",
			Request: map[string]any{"type": "smoke_alarm"}, Response: EventsAccepted{}, Handle: h.events},
		{Method: "GET", Path: "/api/v1/devices/{id}/events", Tag: "devices", Roles: staff, Dataset: "devices", Summary: "List a device's events, newest first",
			Query: map[string]string{"limit": "1–1000, default 100"}, Response: []device.Event{}, Handle: h.listEvents},
		{Method: "GET", Path: "/api/v1/devices/{id}/quarantine", Tag: "devices", Roles: staff, Dataset: "devices",
			Summary: "Refused messages of a device with their reasons (last ones, and counts by reason)", Response: device.QuarantineReport{}, Handle: h.quarantine},
		{Method: "GET", Path: "/api/v1/devices/{id}/status", Tag: "devices", Roles: staff, Summary: "Live status of a device",
			Response: device.Status{}, Handle: h.status},
		{Method: "POST", Path: "/api/v1/devices/{id}/commands", Tag: "devices", Roles: managers, Dataset: "devices",
			Summary: "Send a downlink command (devices/{id}/commands); track its acknowledgement", Request: CommandRequest{}, Response: device.Command{}, Handle: h.command},
		{Method: "GET", Path: "/api/v1/devices/{id}/commands", Tag: "devices", Roles: staff, Dataset: "devices", Summary: "List a device's commands, newest first",
			Response: []device.Command{}, Handle: h.listCommands},
		{Method: "GET", Path: "/api/v1/health/devices", Tag: "devices", Roles: staff, Summary: "Device health: registered, online, online rate, silent, low battery per area and profile",
			Query: map[string]string{"area": "only devices registered in this area code", "profile": "only this profile",
				"level": "roll areas up to district, street, community or grid (default: the devices' own area codes)"}, Response: device.Health{}, Handle: h.health},
		{Method: "POST", Path: "/api/v1/facilities", Tag: "devices", Roles: managers, Summary: "Register a facility (a bridge, a gas valve well, a pumping station)",
			Request: device.Facility{}, Response: device.Facility{}, Handle: h.createFacility},
		{Method: "GET", Path: "/api/v1/facilities", Tag: "devices", Roles: staff, Summary: "List facilities",
			Query: map[string]string{"area": "only this area"}, Response: []device.Facility{}, Handle: h.listFacilities},
	}
}

func (h deviceHandlers) view(r *http.Request, d device.Device) DeviceView {
	st := h.d.Registry.Status().Get(d.ID, h.now())
	if d.Disabled {
		st.State = device.StateDisabled
	}
	return DeviceView{Device: d, Status: st}
}

func (h deviceHandlers) now() time.Time {
	if h.d.Clock == nil {
		return time.Now()
	}
	return h.d.Clock.Now()
}

func (h deviceHandlers) profiles(w http.ResponseWriter, r *http.Request) error {
	ps := h.d.Registry.Profiles()
	return JSON(w, http.StatusOK, ProfilesReply{Profiles: ps.List(), FacilityKinds: ps.FacilityKinds()})
}

func (h deviceHandlers) credentials(r *http.Request, d device.Device, secret string) DeviceCredentialsReply {
	host := r.Host
	if hh, _, err := net.SplitHostPort(r.Host); err == nil {
		host = hh
	}
	port := 1883
	if mh, mp, err := net.SplitHostPort(h.d.MQTTAddr); err == nil {
		if n, err := strconv.Atoi(mp); err == nil {
			port = n
		}
		if mh != "" && mh != "0.0.0.0" && mh != "::" {
			host = mh
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/api/v1/devices/" + d.ID
	pre := ingest.TopicPrefix + d.ID + "/"
	return DeviceCredentialsReply{
		Device: h.view(r, d),
		MQTT: MQTTCredentials{Host: host, Port: port, URL: "mqtt://" + net.JoinHostPort(host, strconv.Itoa(port)), Username: d.ID, Password: secret, ClientID: d.ID,
			Topics: map[string]string{"telemetry": pre + ingest.TopicTelemetry, "events": pre + ingest.TopicEvents, "status": pre + ingest.TopicStatus,
				"commands": pre + ingest.TopicCommands, "command_ack": pre + ingest.TopicCommandAck}},
		HTTP: HTTPCredentials{TelemetryURL: base + "/telemetry", EventsURL: base + "/events", Username: d.ID, Password: secret,
			Auth: "HTTP Basic (username = device id, password = secret) or Authorization: Bearer SECRET"},
		Note: "密钥只显示这一次, 请妥善保存 / the secret is shown only this once: store it now",
	}
}

func (h deviceHandlers) create(w http.ResponseWriter, r *http.Request) error {
	var in device.Input
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	d, secret, err := h.d.Registry.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusCreated, h.credentials(r, d, secret))
}

func (h deviceHandlers) list(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ds, next, err := h.d.Registry.List(r.Context(), device.Filter{Area: q.Get("area"), Profile: q.Get("profile"), Facility: q.Get("facility"),
		Status: q.Get("status"), After: cursor, Limit: limit})
	if err != nil {
		return err
	}
	items := make([]DeviceView, 0, len(ds))
	for _, d := range ds {
		items = append(items, h.view(r, d))
	}
	return h.s.Reply(w, r, http.StatusOK, Page[DeviceView]{Items: items, NextCursor: EncodeCursor(next)})
}

func (h deviceHandlers) get(w http.ResponseWriter, r *http.Request) error {
	d, err := h.d.Registry.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, h.view(r, d))
}

func (h deviceHandlers) update(w http.ResponseWriter, r *http.Request) error {
	var p device.Patch
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	d, err := h.d.Registry.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if d.Disabled && h.d.Broker != nil {
		h.d.Broker.Kick(d.ID)
	}
	return h.s.Reply(w, r, http.StatusOK, h.view(r, d))
}

func (h deviceHandlers) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := h.d.Registry.SetDisabled(r.Context(), r.PathValue("id"), disabled)
		if err != nil {
			return err
		}
		if disabled && h.d.Broker != nil {
			h.d.Broker.Kick(d.ID)
		}
		return h.s.Reply(w, r, http.StatusOK, h.view(r, d))
	}
}

func (h deviceHandlers) delete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.d.Registry.Delete(r.Context(), id); err != nil {
		return err
	}
	if h.d.Broker != nil {
		h.d.Broker.Kick(id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h deviceHandlers) rotate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	secret, err := h.d.Registry.Rotate(r.Context(), id)
	if err != nil {
		return err
	}
	if h.d.Broker != nil {
		h.d.Broker.Kick(id)
	}
	d, err := h.d.Registry.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, h.credentials(r, d, secret))
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, jsonError(err)
	}
	return b, nil
}

func (h deviceHandlers) telemetry(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	res, err := h.d.Ingest.Telemetry(r.Context(), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, res)
}

func (h deviceHandlers) events(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	n, err := h.d.Ingest.Events(r.Context(), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, EventsAccepted{Accepted: n})
}

// exists checks the device and the caller's right to read it.
func (h deviceHandlers) exists(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if _, err := h.d.Registry.Get(r.Context(), id); err != nil {
		return "", err
	}
	return id, nil
}

func (h deviceHandlers) listEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := h.exists(r)
	if err != nil {
		return err
	}
	limit, _, err := PageParams(r)
	if err != nil {
		return err
	}
	if h.d.Events == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "event store not configured")
	}
	es, err := h.d.Events.ListDeviceEvents(r.Context(), id, limit)
	if err != nil {
		return err
	}
	if es == nil {
		es = []device.Event{}
	}
	return h.s.Reply(w, r, http.StatusOK, es)
}

func (h deviceHandlers) quarantine(w http.ResponseWriter, r *http.Request) error {
	id, err := h.exists(r)
	if err != nil {
		return err
	}
	rep := h.d.Ingest.Quarantine().Report(id)
	if len(rep.Recent) == 0 && h.d.Quarantine != nil {
		// after a restart the in-memory ring is empty: show what was persisted
		rs, err := h.d.Quarantine.DeviceRejections(r.Context(), id, 50)
		if err != nil {
			return err
		}
		rep.Recent = rs
	}
	return h.s.Reply(w, r, http.StatusOK, rep)
}

func (h deviceHandlers) status(w http.ResponseWriter, r *http.Request) error {
	id, err := h.exists(r)
	if err != nil {
		return err
	}
	d, _ := h.d.Registry.Get(r.Context(), id)
	return JSON(w, http.StatusOK, h.view(r, d).Status)
}

func (h deviceHandlers) command(w http.ResponseWriter, r *http.Request) error {
	id, err := h.exists(r)
	if err != nil {
		return err
	}
	var req CommandRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return citybrain.FieldError("name", "命令名不能为空 / the command name is required")
	}
	if h.d.Broker == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "MQTT 未启用, 无法下发命令 / MQTT is off (--mqtt off): commands cannot be delivered")
	}
	c, err := h.d.Broker.SendCommand(r.Context(), id, req.Name, req.Params)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusAccepted, c)
}

func (h deviceHandlers) listCommands(w http.ResponseWriter, r *http.Request) error {
	id, err := h.exists(r)
	if err != nil {
		return err
	}
	if h.d.Events == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "command store not configured")
	}
	cs, err := h.d.Events.ListDeviceCommands(r.Context(), id, 100)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []device.Command{}
	}
	return h.s.Reply(w, r, http.StatusOK, cs)
}

func (h deviceHandlers) health(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	all, err := h.d.Registry.All(r.Context(), device.Filter{Area: q.Get("area"), Profile: q.Get("profile")})
	if err != nil {
		return err
	}
	if level := q.Get("level"); level != "" {
		switch level {
		case "district", "street", "community", "grid":
		default:
			return citybrain.FieldError("level", "level须为district/street/community/grid / level must be district, street, community or grid")
		}
		if h.d.AreaAt == nil {
			return citybrain.Errorf(citybrain.EUNAVAILABLE, "area map not available")
		}
		for i := range all {
			if code, ok := h.d.AreaAt(all[i].Area, level); ok {
				all[i].Area = code
			}
		}
	}
	return JSON(w, http.StatusOK, device.ComputeHealth(all, h.d.Registry.Status(), h.now()))
}

func (h deviceHandlers) createFacility(w http.ResponseWriter, r *http.Request) error {
	var f device.Facility
	if err := DecodeJSON(r, &f); err != nil {
		return err
	}
	f, err := h.d.Registry.CreateFacility(r.Context(), f)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, f)
}

func (h deviceHandlers) listFacilities(w http.ResponseWriter, r *http.Request) error {
	fs, err := h.d.Registry.Facilities(r.Context(), r.URL.Query().Get("area"))
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []device.Facility{}
	}
	return JSON(w, http.StatusOK, fs)
}
