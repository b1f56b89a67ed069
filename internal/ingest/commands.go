package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
)

func newCommandID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SendCommand stores a command for a device and publishes it on devices/{id}/commands (QoS 1).
// A device that is not connected receives it when it next connects (if the command has not
// expired). The caller must have checked that the actor may command devices.
func (b *Broker) SendCommand(ctx context.Context, deviceID, name string, params map[string]any) (device.Command, error) {
	in := b.in
	c, ok := in.creds.Lookup(deviceID)
	if !ok {
		return device.Command{}, citybrain.Errorf(citybrain.ENOTFOUND, "设备 %q 不存在 / device %q not found", deviceID, deviceID)
	}
	if c.Disabled {
		return device.Command{}, citybrain.Errorf(citybrain.ECONFLICT, "设备已停用 / device %s is disabled", deviceID)
	}
	p := in.profiles.Get(c.Profile)
	if p == nil || (!p.Generic && p.Command(name) == nil) {
		return device.Command{}, citybrain.FieldError("name", "型号 %s 不支持命令 %q / profile %s does not accept command %q", c.Profile, name, c.Profile, name)
	}
	if p.Generic && !validGenericKey([]byte(name)) {
		return device.Command{}, citybrain.FieldError("name", "命令名须为1-64个字母数字 / command names are 1-64 of A-Z a-z 0-9 _ . -")
	}
	if in.events == nil {
		return device.Command{}, citybrain.Errorf(citybrain.EUNAVAILABLE, "命令存储未配置 / no command store")
	}
	now := in.clock.Now().UTC()
	cmd := device.Command{ID: newCommandID(), DeviceID: deviceID, Name: name, Params: params, Status: device.CommandPending,
		CreatedAt: now, Deadline: now.Add(b.cfg.CommandTTL)}
	if a := citybrain.ActorFrom(ctx); a != nil {
		cmd.CreatedBy = a.Username
	}
	if err := in.events.CreateDeviceCommand(ctx, cmd); err != nil {
		return device.Command{}, err
	}
	if in.status.Get(deviceID, now).Connected {
		if err := b.publishCommand(ctx, &cmd); err != nil {
			return cmd, err
		}
	} else {
		b.cmdMu.Lock()
		b.pending[deviceID] = append(b.pending[deviceID], cmd.ID)
		b.cmdMu.Unlock()
	}
	if in.notify.Command != nil {
		in.notify.Command(cmd)
	}
	return cmd, nil
}

func (b *Broker) publishCommand(ctx context.Context, cmd *device.Command) error {
	msg, err := json.Marshal(commandMessage{ID: cmd.ID, Name: cmd.Name, Params: cmd.Params, TS: cmd.CreatedAt.UnixMilli()})
	if err != nil {
		return citybrain.FieldError("params", "命令参数无法编码为JSON / params cannot be encoded: %v", err)
	}
	if err := b.srv.Publish(TopicPrefix+cmd.DeviceID+"/"+TopicCommands, msg, false, 1); err != nil {
		return err
	}
	cmd.Status = device.CommandSent
	cmd.SentAt = b.in.clock.Now().UTC()
	return b.in.events.UpdateDeviceCommand(ctx, *cmd)
}

// resendPending publishes the commands that waited for the device to connect.
func (b *Broker) resendPending(deviceID string) {
	b.cmdMu.Lock()
	ids := b.pending[deviceID]
	delete(b.pending, deviceID)
	b.cmdMu.Unlock()
	if len(ids) == 0 || b.in.events == nil {
		return
	}
	// the device subscribes right after CONNACK: give it a moment
	go func() {
		time.Sleep(500 * time.Millisecond)
		ctx := context.Background()
		now := b.in.clock.Now()
		for _, id := range ids {
			c, err := b.in.events.GetDeviceCommand(ctx, id)
			if err != nil || c.Status != device.CommandPending || now.After(c.Deadline) {
				continue
			}
			_ = b.publishCommand(ctx, &c)
		}
	}()
}

// ackCommand applies a device's acknowledgement.
func (b *Broker) ackCommand(ctx context.Context, deviceID string, payload []byte, now time.Time) error {
	if b.in.events == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "no command store")
	}
	var a commandAckPayload
	if err := jsonUnmarshal(payload, &a); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "命令应答须为 {\"id\",\"ok\",\"result\",\"error\"} / ack must be {\"id\",\"ok\",\"result\",\"error\"}: %v", err)
	}
	c, err := b.in.events.GetDeviceCommand(ctx, a.ID)
	if err != nil || c.DeviceID != deviceID {
		return citybrain.Errorf(citybrain.EINVALID, "未知的命令编号 %q / unknown command id %q", a.ID, a.ID)
	}
	if c.Status == device.CommandAcked || c.Status == device.CommandFailed {
		return nil // a redelivered ack
	}
	c.Status = device.CommandAcked
	if !a.OK {
		c.Status = device.CommandFailed
	}
	c.Result, c.Error, c.AckedAt = a.Result, a.Error, now.UTC()
	if err := b.in.events.UpdateDeviceCommand(ctx, c); err != nil {
		return err
	}
	if b.in.notify.Command != nil {
		b.in.notify.Command(c)
	}
	return nil
}

// ExpireCommands marks pending or sent commands past their deadline as expired and returns
// how many it marked. Run it periodically.
func (b *Broker) ExpireCommands(ctx context.Context) (int, error) {
	if b.in.events == nil {
		return 0, nil
	}
	cs, err := b.in.events.DueDeviceCommands(ctx, b.in.clock.Now(), 1000)
	if err != nil {
		return 0, err
	}
	for i, c := range cs {
		c.Status = device.CommandExpired
		if err := b.in.events.UpdateDeviceCommand(ctx, c); err != nil {
			return i, err
		}
		if b.in.notify.Command != nil {
			b.in.notify.Command(c)
		}
	}
	return len(cs), nil
}
