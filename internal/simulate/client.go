package simulate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Client is a small MQTT 3.1.1 client, enough for a device: CONNECT with credentials and a
// last will, QoS 0/1 PUBLISH with pipelined acknowledgements, SUBSCRIBE, keepalive, and an
// abrupt Drop that makes the broker send the will. It speaks the real protocol on a real TCP
// connection, so the simulator and the load generator exercise the broker as devices do. Safe
// for concurrent use.
type Client struct {
	conn net.Conn
	wmu  sync.Mutex
	w    *bufio.Writer

	mu      sync.Mutex
	nextID  uint16
	pending map[uint16]func(error)
	subs    map[uint16]chan byte
	onMsg   func(topic string, payload []byte)
	err     error
	done    chan struct{}
}

// Will is a last-will message.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// ConnectOptions are the CONNECT fields.
type ConnectOptions struct {
	ClientID, Username, Password string
	KeepAlive                    time.Duration // default 60 s
	CleanSession                 bool
	Will                         *Will
	// OnMessage receives publishes from the broker (e.g. commands).
	OnMessage func(topic string, payload []byte)
}

// ErrClosed is returned for operations on a closed client.
var ErrClosed = errors.New("mqtt client closed")

// Dial connects to an MQTT broker at addr (host:port) and completes the CONNECT handshake.
func Dial(ctx context.Context, addr string, o ConnectOptions) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 60 * time.Second
	}
	c := &Client{conn: conn, w: bufio.NewWriterSize(conn, 4096), pending: map[uint16]func(error){}, subs: map[uint16]chan byte{},
		onMsg: o.OnMessage, done: make(chan struct{})}
	// CONNECT
	var vh []byte
	vh = appendString(vh, "MQTT")
	vh = append(vh, 4)
	var flags byte
	if o.CleanSession {
		flags |= 0x02
	}
	if o.Will != nil {
		flags |= 0x04 | (o.Will.QoS&3)<<3
		if o.Will.Retain {
			flags |= 0x20
		}
	}
	if o.Username != "" {
		flags |= 0x80
	}
	if o.Password != "" {
		flags |= 0x40
	}
	vh = append(vh, flags)
	vh = binary.BigEndian.AppendUint16(vh, uint16(o.KeepAlive/time.Second))
	vh = appendString(vh, o.ClientID)
	if o.Will != nil {
		vh = appendString(vh, o.Will.Topic)
		vh = appendBytes(vh, o.Will.Payload)
	}
	if o.Username != "" {
		vh = appendString(vh, o.Username)
	}
	if o.Password != "" {
		vh = appendString(vh, o.Password)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if err := c.writePacket(0x10, vh); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 4096)
	typ, body, err := readPacket(r)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connack: %w", err)
	}
	if typ>>4 != 2 || len(body) != 2 {
		conn.Close()
		return nil, fmt.Errorf("connack: unexpected packet type %d", typ>>4)
	}
	if body[1] != 0 {
		conn.Close()
		return nil, &ConnackError{Code: body[1]}
	}
	_ = conn.SetDeadline(time.Time{})
	go c.readLoop(r)
	go c.pingLoop(o.KeepAlive)
	return c, nil
}

// ConnackError is a refused connection.
type ConnackError struct{ Code byte }

func (e *ConnackError) Error() string {
	switch e.Code {
	case 4:
		return "connection refused: bad user name or password"
	case 5:
		return "connection refused: not authorised"
	}
	return fmt.Sprintf("connection refused: code %d", e.Code)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func appendVarint(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func (c *Client) writePacket(header byte, body []byte) error {
	var hdr [5]byte
	h := appendVarint(append(hdr[:0], header), len(body))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.Write(h); err != nil {
		return err
	}
	if _, err := c.w.Write(body); err != nil {
		return err
	}
	return c.w.Flush()
}

func readPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		mult *= 128
		if i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

func (c *Client) readLoop(r *bufio.Reader) {
	var err error
	defer func() { c.fail(err) }()
	for {
		var typ byte
		var body []byte
		typ, body, err = readPacket(r)
		if err != nil {
			return
		}
		switch typ >> 4 {
		case 4: // PUBACK
			if len(body) >= 2 {
				id := binary.BigEndian.Uint16(body)
				c.mu.Lock()
				fn := c.pending[id]
				delete(c.pending, id)
				c.mu.Unlock()
				if fn != nil {
					fn(nil)
				}
			}
		case 3: // PUBLISH from the broker
			qos := (typ >> 1) & 3
			if len(body) < 2 {
				continue
			}
			tl := int(binary.BigEndian.Uint16(body))
			if len(body) < 2+tl {
				continue
			}
			topic := string(body[2 : 2+tl])
			rest := body[2+tl:]
			if qos > 0 && len(rest) >= 2 {
				id := rest[:2]
				rest = rest[2:]
				_ = c.writePacket(0x40, []byte{id[0], id[1]})
			}
			if c.onMsg != nil {
				c.onMsg(topic, rest)
			}
		case 9: // SUBACK
			if len(body) >= 3 {
				id := binary.BigEndian.Uint16(body)
				c.mu.Lock()
				ch := c.subs[id]
				delete(c.subs, id)
				c.mu.Unlock()
				if ch != nil {
					ch <- body[2]
				}
			}
		}
	}
}

func (c *Client) pingLoop(keepalive time.Duration) {
	t := time.NewTicker(keepalive / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.writePacket(0xC0, nil); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

func (c *Client) fail(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = map[uint16]func(error){}
	subs := c.subs
	c.subs = map[uint16]chan byte{}
	close(c.done)
	c.mu.Unlock()
	_ = c.conn.Close()
	for _, fn := range pending {
		fn(err)
	}
	for _, ch := range subs {
		close(ch)
	}
}

// Done is closed when the connection ends.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) packetID(onAck func(error)) (uint16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	for {
		c.nextID++
		if c.nextID == 0 {
			c.nextID = 1
		}
		if _, busy := c.pending[c.nextID]; !busy {
			break
		}
	}
	c.pending[c.nextID] = onAck
	return c.nextID, nil
}

// PublishAsync sends a publish. For QoS 1, onAck runs once with nil when the PUBACK arrives
// or with the connection's error; for QoS 0 it runs at once after the write.
func (c *Client) PublishAsync(topic string, payload []byte, qos byte, retain bool, onAck func(error)) {
	header := byte(0x30) | (qos&1)<<1
	if retain {
		header |= 1
	}
	body := make([]byte, 0, 2+len(topic)+2+len(payload))
	body = appendString(body, topic)
	if qos > 0 {
		id, err := c.packetID(onAck)
		if err != nil {
			onAck(err)
			return
		}
		body = binary.BigEndian.AppendUint16(body, id)
	}
	body = append(body, payload...)
	err := c.writePacket(header, body)
	if err != nil {
		c.fail(err)
	}
	if qos == 0 && onAck != nil {
		onAck(err)
	}
}

// Publish sends a publish and, for QoS 1, waits for its PUBACK.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos byte) error {
	ch := make(chan error, 1)
	c.PublishAsync(topic, payload, qos, false, func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe subscribes to one filter at QoS 1 and returns the granted QoS (0x80 = refused).
func (c *Client) Subscribe(ctx context.Context, filter string) (byte, error) {
	ch := make(chan byte, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return 0, c.err
	}
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	id := c.nextID
	c.subs[id] = ch
	c.mu.Unlock()
	body := binary.BigEndian.AppendUint16(nil, id)
	body = appendString(body, filter)
	body = append(body, 1)
	if err := c.writePacket(0x82, body); err != nil {
		c.fail(err)
		return 0, err
	}
	select {
	case code, ok := <-ch:
		if !ok {
			return 0, c.Err()
		}
		return code, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close sends DISCONNECT and closes the connection (no will is sent).
func (c *Client) Close() error {
	_ = c.writePacket(0xE0, nil)
	c.fail(ErrClosed)
	return nil
}

// Drop closes the TCP connection without DISCONNECT, as a device losing power would: the
// broker then publishes the will.
func (c *Client) Drop() {
	c.fail(errors.New("dropped"))
}
