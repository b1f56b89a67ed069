//go:build depsanchor

// Package depsanchor keeps the chosen modules in go.mod while the packages that use them are written.
package depsanchor

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/eclipse/paho.golang/paho"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/expr-lang/expr"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/xuri/excelize/v2"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/mod/sumdb/note"
	_ "golang.org/x/mod/sumdb/tlog"
	_ "golang.org/x/text/encoding/simplifiedchinese"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
