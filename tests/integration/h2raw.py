"""A deliberately small HTTP/2 client on a raw socket, for sending exactly
the bytes a test wants (valid or not) and reading frames back loosely.

HEADERS blocks are encoded with HPACK "literal header field without
indexing, new name" representations and no Huffman coding (RFC 7541 6.2.2),
which every decoder must accept.  Responses are not HPACK-decoded: tests read
frame types, flags, stream ids, DATA payloads and RST_STREAM / GOAWAY codes,
and take a call's gRPC status from governd's debug log (peer=this socket).
"""

import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

ERR_NAMES = {
    0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR", 0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM", 0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR", 0xA: "CONNECT_ERROR", 0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY", 0xD: "HTTP_1_1_REQUIRED",
}


def frame(ftype, flags, stream, payload=b"", length=None):
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + struct.pack(">BBI", ftype, flags, stream & 0x7FFFFFFF) + payload


def settings_frame(params=(), ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in params)
    return frame(SETTINGS, FLAG_ACK if ack else 0, 0, payload)


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment & 0x7FFFFFFF))


def rst_stream(stream, code=0x8):
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def ping(data=b"12345678", ack=False):
    return frame(PING, FLAG_ACK if ack else 0, 0, data)


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    b = s.encode("latin-1") if isinstance(s, str) else bytes(s)
    return hpack_int(len(b), 7) + b


def hpack_literal(name, value):
    return b"\x00" + hpack_str(name) + hpack_str(value)


def encode_headers(pairs):
    return b"".join(hpack_literal(n, v) for n, v in pairs)


def grpc_headers(path, authority="127.0.0.1", extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path),
            (":authority", authority), ("content-type", "application/grpc"),
            ("te", "trailers")] + list(extra)


def grpc_msg(payload=b"", compressed=0, declared_len=None):
    n = len(payload) if declared_len is None else declared_len
    return struct.pack(">BI", compressed, n) + payload


def split_grpc_messages(data):
    """[(compressed_flag, payload)] for complete messages in data."""
    out = []
    i = 0
    while i + 5 <= len(data):
        flag, n = struct.unpack(">BI", data[i:i + 5])
        if i + 5 + n > len(data):
            break
        out.append((flag, bytes(data[i + 5:i + 5 + n])))
        i += 5 + n
    return out


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.header_blocks = []   # raw HPACK blocks (undecoded)
        self.data = bytearray()
        self.ended = False        # END_STREAM seen from the server
        self.rst = None           # RST_STREAM error code
        self.trailers = False     # a HEADERS frame with END_STREAM arrived

    @property
    def done(self):
        return self.ended or self.rst is not None

    def messages(self):
        return split_grpc_messages(self.data)

    def __repr__(self):
        return "<stream %d headers=%d data=%d ended=%s trailers=%s rst=%s>" % (
            self.id, len(self.header_blocks), len(self.data), self.ended,
            self.trailers, ERR_NAMES.get(self.rst, self.rst))


class H2Conn:
    def __init__(self, host, port, timeout=5.0, sock=None):
        # sock: an already connected socket (an ssl.SSLSocket, say)
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local = "%s:%d" % self.sock.getsockname()[:2]
        self.buf = bytearray()
        self.streams = {}
        self.frames = []          # every frame read: (type, flags, sid, payload)
        self.server_settings = {}
        self.goaway = None        # (last_stream_id, error_code, debug)
        self.closed = False
        self.pings = 0

    @classmethod
    def connect(cls, addr, timeout=5.0):
        host, _, port = addr.rpartition(":")
        return cls(host, int(port), timeout)

    # -- sending

    def send(self, b):
        self.sock.sendall(b)

    def try_send(self, b):
        """Sends, returning False when the server already closed."""
        try:
            self.sock.sendall(b)
            return True
        except OSError:
            return False

    def handshake(self, settings=((SETTINGS_ENABLE_PUSH, 0),), conn_window=1 << 24):
        out = PREFACE + settings_frame(settings)
        if conn_window:
            out += window_update(0, conn_window)
        self.send(out)

    def headers(self, sid, pairs, end_stream=False, end_headers=True):
        flags = (FLAG_END_STREAM if end_stream else 0) | (FLAG_END_HEADERS if end_headers else 0)
        self.streams.setdefault(sid, Stream(sid))
        self.send(frame(HEADERS, flags, sid, encode_headers(pairs)))

    def data(self, sid, payload, end_stream=False):
        self.send(frame(DATA, FLAG_END_STREAM if end_stream else 0, sid, payload))

    def grpc_call(self, sid, path, body=b"", extra=(), end_stream=True):
        """HEADERS + one length-prefixed message (in one write)."""
        self.streams.setdefault(sid, Stream(sid))
        out = frame(HEADERS, FLAG_END_HEADERS, sid, encode_headers(grpc_headers(path, extra=extra)))
        out += frame(DATA, FLAG_END_STREAM if end_stream else 0, sid, grpc_msg(body))
        self.send(out)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Closes with RST (SO_LINGER 0) instead of FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    # -- reading

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, OSError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def _next_frame(self, deadline):
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[0:3], "big")
                if len(self.buf) >= 9 + n:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(self.buf[9:9 + n])
                    del self.buf[:9 + n]
                    return ftype, flags, sid, payload
            if self.closed or not self._fill(deadline):
                return None

    def _handle(self, f):
        ftype, flags, sid, payload = f
        self.frames.append(f)
        st = self.streams.get(sid)
        if ftype == SETTINGS and not flags & FLAG_ACK:
            for i in range(0, len(payload) - len(payload) % 6, 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[k] = v
            self.try_send(settings_frame(ack=True))
        elif ftype == PING and not flags & FLAG_ACK:
            self.pings += 1
            if self.auto_ping_ack:
                self.try_send(ping(payload, ack=True))
        elif ftype == GOAWAY and len(payload) >= 8:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, payload[8:])
        elif ftype in (HEADERS, CONTINUATION) and sid:
            st = self.streams.setdefault(sid, Stream(sid))
            st.header_blocks.append(payload)
            if flags & FLAG_END_STREAM:
                st.ended = True
                st.trailers = True
        elif ftype == DATA and sid:
            st = self.streams.setdefault(sid, Stream(sid))
            st.data += payload
            if payload:
                # keep the windows open so large responses flow
                self.try_send(window_update(sid, len(payload)) + window_update(0, len(payload)))
            if flags & FLAG_END_STREAM:
                st.ended = True
        elif ftype == RST_STREAM and sid and len(payload) >= 4:
            st = self.streams.setdefault(sid, Stream(sid))
            st.rst = struct.unpack(">I", payload[:4])[0]

    auto_ping_ack = True

    def pump(self, until=None, timeout=5.0):
        """Reads frames until until() is true, the connection closes or the
        timeout passes.  Returns until()'s final value (or None)."""
        deadline = time.monotonic() + timeout
        while True:
            if until is not None:
                v = until()
                if v:
                    return v
            f = self._next_frame(deadline)
            if f is None:
                return until() if until is not None else None
            self._handle(f)

    def wait_stream(self, sid, timeout=5.0):
        st = self.streams.setdefault(sid, Stream(sid))
        self.pump(lambda: st.done, timeout)
        return st

    def wait_closed(self, timeout=5.0):
        """True when the server closed the connection within timeout."""
        self.pump(lambda: self.closed, timeout)
        return self.closed

    def wait_goaway_or_close(self, timeout=5.0):
        self.pump(lambda: self.closed or self.goaway is not None, timeout)
        return self.closed or self.goaway is not None
