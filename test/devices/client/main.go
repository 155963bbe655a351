// A device client of the detection service's WebSocket protocol, written the
// way its Go clients are: gorilla/websocket and encoding/json with Body []byte.
// The tests and the benchmark drive it over stdin, one command a line, and
// read one JSON line per command on stdout.
//
// Script mode (tests):   client -url ws://127.0.0.1:PORT/websocket [-token T | -query-token T]
//
//	dial | online ID [PROJECT] | info JSON | send TYPE JSON | raw TEXT | big BYTES | ping | wait-close SECONDS | close
//
// Load mode (benchmark): client -load N -urls URL,URL,... [-prefix dev-] [-ping 10s] [-info 60s]
//
//	drop K | quit
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Request and Response are the protocol's frames, as the service declares them.
type Request struct {
	Version   uint32 `json:"version"`
	Timestamp int64  `json:"timestamp"`
	Id        uint64 `json:"id"`
	Type      uint32 `json:"type"`
	PubKey    string `json:"pub_key"`
	Sign      string `json:"sign"`
	Body      []byte `json:"body"`
}

type Response struct {
	Version uint32 `json:"version"`
	Id      uint64 `json:"id"`
	Type    uint32 `json:"type"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Body    []byte `json:"body"`
}

type OnlineBody struct {
	NodeId  string `json:"node_id"`
	Project string `json:"project,omitempty"`
}

type Model struct {
	Model string `json:"model"`
}

type MachineInfoBody struct {
	Project        string  `json:"project"`
	Models         []Model `json:"models"`
	GpuName        string  `json:"gpu_name"`
	UtilizationGpu int     `json:"utilization_gpu"`
	MemoryTotal    int     `json:"memory_total"`
	MemoryUsed     int     `json:"memory_used"`
}

func out(v interface{}) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(append(b, '\n'))
}

func main() {
	url := flag.String("url", "", "the peer's WebSocket URL")
	token := flag.String("token", "", "send this token as Authorization: Bearer")
	queryToken := flag.String("query-token", "", "send this token as ?token=")
	load := flag.Int("load", 0, "load mode: open this many device connections")
	urls := flag.String("urls", "", "load mode: peers' WebSocket URLs, connections spread over them")
	prefix := flag.String("prefix", "dev-", "load mode: device id prefix")
	ping := flag.Duration("ping", 10*time.Second, "load mode: ping interval per connection")
	info := flag.Duration("info", 60*time.Second, "load mode: machine info interval per connection")
	flag.Parse()
	if *load > 0 {
		runLoad(*load, strings.Split(*urls, ","), *prefix, *token, *ping, *info)
		return
	}
	target := *url
	if *queryToken != "" {
		target += "?token=" + *queryToken
	}
	header := http.Header{}
	if *token != "" {
		header.Set("Authorization", "Bearer "+*token)
	}
	runScript(target, header)
}

type script struct {
	conn     *websocket.Conn
	messages chan []byte
	closed   chan map[string]interface{}
	pongs    chan bool
	nextId   uint64
}

func runScript(url string, header http.Header) {
	s := &script{nextId: 1}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<22)
	for in.Scan() {
		line := in.Text()
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "dial":
			s.dial(url, header)
		case "online":
			id, project, _ := strings.Cut(arg, " ")
			body, _ := json.Marshal(OnlineBody{NodeId: id, Project: project})
			s.request(1, body)
		case "info":
			s.request(2, []byte(arg))
		case "send":
			typ, body, _ := strings.Cut(arg, " ")
			n, _ := strconv.Atoi(typ)
			s.request(uint32(n), []byte(body))
		case "raw":
			s.send([]byte(arg))
		case "big":
			n, _ := strconv.Atoi(arg)
			body, _ := json.Marshal(MachineInfoBody{Project: strings.Repeat("x", n)})
			s.request(2, body)
		case "ping":
			s.ping()
		case "wait-close":
			secs, _ := strconv.Atoi(arg)
			select {
			case c := <-s.closed:
				out(c)
			case <-time.After(time.Duration(secs) * time.Second):
				out(map[string]interface{}{"error": "still open"})
			}
		case "close":
			s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
			s.conn.Close()
			out(map[string]bool{"closed": true})
		default:
			out(map[string]string{"error": "unknown command " + cmd})
		}
	}
}

func (s *script) dial(url string, header http.Header) {
	conn, res, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		r := map[string]interface{}{"dialError": err.Error()}
		if res != nil {
			body, _ := io.ReadAll(res.Body)
			r["status"] = res.StatusCode
			r["body"] = string(body)
		}
		out(r)
		return
	}
	s.conn = conn
	s.messages = make(chan []byte, 16)
	s.closed = make(chan map[string]interface{}, 1)
	s.pongs = make(chan bool, 1)
	conn.SetPongHandler(func(string) error { s.pongs <- true; return nil })
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				r := map[string]interface{}{"closed": true, "error": err.Error()}
				if ce, ok := err.(*websocket.CloseError); ok {
					r["code"] = ce.Code
					r["text"] = ce.Text
				}
				s.closed <- r
				return
			}
			s.messages <- data
		}
	}()
	out(map[string]bool{"dialed": true})
}

func (s *script) request(typ uint32, body []byte) {
	req := Request{Version: 0, Timestamp: time.Now().UnixMilli(), Id: s.nextId, Type: typ, Body: body}
	s.nextId++
	frame, _ := json.Marshal(req)
	s.send(frame)
}

// send writes a text frame and prints the response, raw and as Go decodes it.
func (s *script) send(frame []byte) {
	if s.conn == nil {
		out(map[string]string{"error": "not connected"})
		return
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		out(map[string]string{"error": err.Error()})
		return
	}
	select {
	case data := <-s.messages:
		var res Response
		err := json.Unmarshal(data, &res)
		r := map[string]interface{}{"raw": string(data), "response": res}
		if err != nil {
			r["decodeError"] = err.Error()
		}
		out(r)
	case c := <-s.closed:
		out(c)
	case <-time.After(10 * time.Second):
		out(map[string]string{"error": "no response in 10s"})
	}
}

func (s *script) ping() {
	if err := s.conn.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(5*time.Second)); err != nil {
		out(map[string]string{"error": err.Error()})
		return
	}
	select {
	case <-s.pongs:
		out(map[string]bool{"pong": true})
	case <-time.After(10 * time.Second):
		out(map[string]string{"error": "no pong in 10s"})
	}
}

// The load generator keeps the read side of each connection in its own goroutine and
// pings and sends machine info from another, so 10k devices cost little here.
func runLoad(n int, urls []string, prefix, token string, ping, info time.Duration) {
	raiseFileLimit()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	conns := make([]*websocket.Conn, n)
	ids := make([]string, n)
	start := time.Now()
	failed := 0
	sem := make(chan bool, 64)
	done := make(chan bool, n)
	for i := 0; i < n; i++ {
		ids[i] = fmt.Sprintf("%s%05d", prefix, i)
		go func(i int) {
			sem <- true
			defer func() { <-sem; done <- true }()
			c, _, err := dialer.Dial(urls[i%len(urls)], header)
			if err != nil {
				return
			}
			body, _ := json.Marshal(OnlineBody{NodeId: ids[i], Project: "bench"})
			frame, _ := json.Marshal(Request{Timestamp: time.Now().UnixMilli(), Id: 1, Type: 1, Body: body})
			if c.WriteMessage(websocket.TextMessage, frame) != nil {
				c.Close()
				return
			}
			sendInfo(c, i)
			conns[i] = c
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			go keepAlive(c, i, ping, info)
		}(i)
	}
	for i := 0; i < n; i++ {
		<-done
	}
	for _, c := range conns {
		if c == nil {
			failed++
		}
	}
	out(map[string]interface{}{"connected": n - failed, "failed": failed, "ms": time.Since(start).Milliseconds()})
	in := bufio.NewScanner(os.Stdin)
	dropped := 0
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "drop":
			k, _ := strconv.Atoi(arg)
			var gone []string
			at := time.Now().UnixMilli()
			for i := dropped; i < n && len(gone) < k; i++ {
				if conns[i] != nil {
					conns[i].Close()
					gone = append(gone, ids[i])
				}
				dropped = i + 1
			}
			out(map[string]interface{}{"dropped": gone, "at": at})
		case "quit":
			return
		}
	}
}

var infoBody, _ = json.Marshal(MachineInfoBody{Project: "bench", Models: []Model{{Model: "llama-3-8b"}}, GpuName: "NVIDIA GeForce RTX 4090", UtilizationGpu: 30, MemoryTotal: 24564, MemoryUsed: 22128})

func sendInfo(c *websocket.Conn, i int) error {
	frame, _ := json.Marshal(Request{Timestamp: time.Now().UnixMilli(), Id: 2, Type: 2, Body: infoBody})
	return c.WriteMessage(websocket.TextMessage, frame)
}

// keepAlive pings and sends machine info on the device's own schedule (a random phase, so
// 10k devices spread their traffic), from one goroutine: a connection has one writer.
func keepAlive(c *websocket.Conn, i int, ping, info time.Duration) {
	time.Sleep(time.Duration(rand.Int63n(int64(ping))))
	pings := time.NewTicker(ping)
	infos := time.NewTicker(info)
	defer pings.Stop()
	defer infos.Stop()
	for {
		select {
		case <-pings.C:
			if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
				return
			}
		case <-infos.C:
			if sendInfo(c, i) != nil {
				return
			}
		}
	}
}

// raiseFileLimit lifts the soft limit on open files to the hard one: 10k sockets pass the usual soft limit.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
