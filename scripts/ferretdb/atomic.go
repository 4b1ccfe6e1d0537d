package main

// FerretDB v1 applies an `update` or `findAndModify` as a query, then a write of the changed
// documents, with nothing held in between. Two updates of one document at once both read it,
// and the second write drops the first's change: 20 concurrent `$set`s of 20 different fields
// left one field, 20 `$inc`s added 3, and an update conditional on a field's value matched for
// several writers. MongoDB applies each to one document atomically, and the application relies
// on that (conditional updates in key rotation and leases, different processes setting
// different fields of one session).
//
// So clients do not talk to FerretDB directly. This launcher listens on the public address and
// relays each connection to FerretDB on a private Unix socket, message for message. A relayed
// update or findAndModify holds a lock for its collection from the moment it is sent until its
// reply comes back, so read-modify-writes of one collection run one at a time, as they would
// on MongoDB for one document. Everything else (reads, inserts, deletes, which FerretDB already
// does in one statement) passes without waiting. Writes to one SQLite file are serialised by
// SQLite anyway, so the lock costs little more than the relay itself.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
)

const (
	opMsg = 2013
	// A MongoDB message is at most 48 MB; anything claiming more is not one.
	maxMessageBytes = 48 * 1024 * 1024
	// OP_MSG flag: the sender expects no reply to this message.
	moreToCome = 1 << 1
)

// collectionLocks hands out one mutex per collection name. Names are few (this application's
// collections, per database), so the map is never pruned.
type collectionLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (c *collectionLocks) of(name string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks == nil {
		c.locks = map[string]*sync.Mutex{}
	}
	l, ok := c.locks[name]
	if !ok {
		l = &sync.Mutex{}
		c.locks[name] = l
	}
	return l
}

// relay accepts clients on ln and joins each to a fresh connection to upstream (FerretDB).
func relay(ln net.Listener, upstream func() (net.Conn, error), logger *slog.Logger) error {
	locks := &collectionLocks{}
	for {
		client, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go func() {
			server, err := upstream()
			if err != nil {
				logger.Warn("relay: FerretDB not reachable", "error", err)
				client.Close()
				return
			}
			serveConn(client, server, locks)
		}()
	}
}

// serveConn relays one client connection. Drivers send a request and wait for its reply on a
// connection, so at most one locked request is outstanding per connection; its lock is released
// by the reply that answers it, or when either side closes.
func serveConn(client, server net.Conn, locks *collectionLocks) {
	var (
		mu      sync.Mutex
		held    *sync.Mutex
		heldFor int32
	)
	release := func(responseTo int32, always bool) {
		mu.Lock()
		defer mu.Unlock()
		if held != nil && (always || responseTo == heldFor) {
			held.Unlock()
			held = nil
		}
	}
	done := make(chan struct{}, 2)
	closeBoth := func() {
		client.Close()
		server.Close()
		done <- struct{}{}
	}

	// Client → FerretDB.
	go func() {
		defer closeBoth()
		for {
			msg, err := readMessage(client)
			if err != nil {
				return
			}
			if name, ok := lockedCollection(msg); ok {
				l := locks.of(name)
				l.Lock()
				mu.Lock()
				held, heldFor = l, requestID(msg)
				mu.Unlock()
			}
			if _, err := server.Write(msg); err != nil {
				release(0, true)
				return
			}
			if flags(msg)&moreToCome != 0 {
				// An unacknowledged write: no reply will release the lock, so it goes now.
				release(0, true)
			}
		}
	}()
	// FerretDB → client.
	go func() {
		defer closeBoth()
		for {
			msg, err := readMessage(server)
			if err != nil {
				release(0, true)
				return
			}
			release(responseTo(msg), false)
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()
	<-done
	<-done
	release(0, true)
}

// readMessage reads one whole wire-protocol message (header included).
func readMessage(r io.Reader) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	size := int32(binary.LittleEndian.Uint32(header[:]))
	if size < 16 || size > maxMessageBytes {
		return nil, errors.New("relay: not a MongoDB wire message")
	}
	msg := make([]byte, size)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func requestID(msg []byte) int32  { return int32(binary.LittleEndian.Uint32(msg[4:8])) }
func responseTo(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[8:12])) }
func opCode(msg []byte) int32     { return int32(binary.LittleEndian.Uint32(msg[12:16])) }

func flags(msg []byte) uint32 {
	if opCode(msg) != opMsg || len(msg) < 20 {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[16:20])
}

// lockedCollection names the collection of an `update` or `findAndModify` command: the first
// element of the command document (the OP_MSG section of kind 0) is the command's name, with the
// collection as its string value.
func lockedCollection(msg []byte) (string, bool) {
	if opCode(msg) != opMsg {
		return "", false
	}
	end := len(msg)
	if flags(msg)&1 != 0 { // checksumPresent
		end -= 4
	}
	for i := 20; i < end; {
		kind := msg[i]
		i++
		if i+4 > end {
			return "", false
		}
		size := int(binary.LittleEndian.Uint32(msg[i : i+4]))
		if size < 5 || i+size > end {
			return "", false
		}
		if kind == 0 {
			return commandCollection(msg[i : i+size])
		}
		i += size // kind 1: a document sequence, its size first
	}
	return "", false
}

func commandCollection(doc []byte) (string, bool) {
	// int32 size, then the first element: type, key (NUL-terminated), value.
	if len(doc) < 6 || doc[4] != 0x02 { // the value must be a string
		return "", false
	}
	keyEnd := bytes.IndexByte(doc[5:], 0)
	if keyEnd < 0 {
		return "", false
	}
	switch string(doc[5 : 5+keyEnd]) {
	case "update", "findAndModify", "findandmodify":
	default:
		return "", false
	}
	v := 5 + keyEnd + 1
	if v+4 > len(doc) {
		return "", false
	}
	n := int(binary.LittleEndian.Uint32(doc[v : v+4]))
	if n < 1 || v+4+n > len(doc) {
		return "", false
	}
	return string(doc[v+4 : v+4+n-1]), true
}
