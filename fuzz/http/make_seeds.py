#!/usr/bin/env python3
"""Writes the seed corpora of the http fuzzers (fuzz/http/corpus/<target>/). Re-run after
changing it; the files are committed. Secret and clock match jwt_authorization_fuzz.cpp."""
import base64, hashlib, hmac, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = bytes(range(32))
NOW = 1_700_000_000


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


BODY = '{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1}'
requests = {
    "engine_post": "POST / HTTP/1.1\r\nHost: 127.0.0.1:8551\r\nContent-Type: application/json\r\n"
                   "Authorization: Bearer aaa.bbb.ccc\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
    "get": "GET /status?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
    "http10_keepalive": "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "chunked": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n1;ext=1;q=\"x\"\r\n,\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    "pipelined": "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                 "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "expect_continue": "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "cl_te_smuggle": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "cl_duplicate": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc",
    "obs_fold": "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "bare_lf": "GET / HTTP/1.1\nHost: a\n\n",
    "te_gzip": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "huge_cl": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "huge_chunk": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
    "http2": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "leading_crlf": "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "upgrade": "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "many_headers": "GET / HTTP/1.1\r\nHost: a\r\n" + "".join("X-%d: v\r\n" % i for i in range(20)) + "\r\n",
}
for name, data in requests.items():
    write("http_request", name, data)

responses = {
    "cl": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n"
          '{"jsonrpc":"2.0","id":1,"result":"0x1"}\x00',
    "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n\x00",
    "close_delimited": "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close\x00",
    "interim": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n"
               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\x00",
    "no_content": "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n\x00",
    "head": "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\x01",
    "switching": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x00",
    # the answer to our own WebSocket handshake (expect_upgrade: last byte's bit 1), a frame behind
    "switching_upgrade": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                         "\r\n\x81\x02hi\x02",
    "truncated": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123\x00",
    "close": "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\x00",
}
for name, data in responses.items():
    write("http_response", name, data)


def b64(b):
    return base64.urlsafe_b64encode(b if isinstance(b, bytes) else b.encode()).rstrip(b"=").decode()


def token(header, payload, key=SECRET):
    signing = b64(header) + "." + b64(payload)
    return signing + "." + b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())


HS = '{"alg":"HS256","typ":"JWT"}'
# Mode byte: even = the value as is (now = NOW + (byte >> 1) - 64: 0x80 is NOW exactly);
# odd = the fuzzer appends a valid signature to "header.payload" (0x81: NOW).
plain = {
    "good": "Bearer " + token(HS, '{"iat":%d}' % NOW),
    "good_claims": "bearer " + token(HS, '{"iat":%d,"id":"cl","clv":"v1","exp":%d}' % (NOW, NOW + 30)),
    "wrong_secret": "Bearer " + token(HS, '{"iat":%d}' % NOW, bytes(32)),
    "alg_none": "Bearer " + b64('{"alg":"none"}') + "." + b64('{"iat":%d}' % NOW) + ".",
    "basic": "Basic dXNlcjpwYXNz",
    "two_parts": "Bearer " + b64(HS) + "." + b64('{"iat":1}'),
    "empty": "",
}
for name, value in plain.items():
    write("jwt_authorization", name, b"\x80" + value.encode())
signed = {
    "s_good": b64(HS) + "." + b64('{"iat":%d}' % NOW),
    "s_iat_old": b64(HS) + "." + b64('{"iat":%d}' % (NOW - 100)),
    "s_exp": b64(HS) + "." + b64('{"iat":%d,"exp":%d}' % (NOW, NOW - 1)),
    "s_nested": b64(HS) + "." + b64('{"iat":%d,"x":{"y":[1,2.5e3,"\\u00e9",null,true]}}' % NOW),
    "s_escaped_alg": b64('{"alg":"\\u0048S256"}') + "." + b64('{"iat":%d}' % NOW),
    "s_iat_string": b64(HS) + "." + b64('{"iat":"%d"}' % NOW),
    "s_dup_iat": b64(HS) + "." + b64('{"iat":%d,"iat":%d}' % (NOW, NOW)),
    "s_crit": b64('{"alg":"HS256","crit":["x"]}') + "." + b64('{"iat":%d}' % NOW),
}
for name, value in signed.items():
    write("jwt_authorization", name, b"\x81" + value.encode())

# websocket: client frames (masked with the RFC 6455 example key) and server frames (unmasked);
# websocket_fuzz.cpp also reads each input as a script of messages and as UTF-8 text.
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def ws_frame(b0, payload=b"", masked=True, form=0):
    payload = payload.encode() if isinstance(payload, str) else payload
    n = len(payload)
    m = 0x80 if masked else 0
    form = form or (0 if n < 126 else 126 if n <= 0xFFFF else 127)
    head = bytes([b0])
    if form == 0:
        head += bytes([m | n])
    elif form == 126:
        head += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + n.to_bytes(8, "big")
    if masked:
        head += MASK
        payload = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_body(code, reason=b""):
    return code.to_bytes(2, "big") + reason


websocket = {
    "text_hello": ws_frame(0x81, "Hello"),
    "fragments_ping": ws_frame(0x01, "frag1") + ws_frame(0x89, "ping") + ws_frame(0x80, "frag2"),
    "utf8_across": ws_frame(0x01, b"\xce") + ws_frame(0x00, b"\xba\xe1\xbd") + ws_frame(0x80, b"\xb9"),
    "utf8_invalid": ws_frame(0x81, b"\xce\xba\xed\xa0\x80edited"),
    "binary_126": ws_frame(0x82, bytes(range(200))),
    "binary_64bit": ws_frame(0x82, b"x" * 300, form=127),
    "len_2_63": bytes([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]) + MASK + b"abcd",
    "unmasked": ws_frame(0x81, "hi", masked=False),
    "rsv": ws_frame(0xC1, "hi"),
    "opcode_3": ws_frame(0x83, "x"),
    "ping_126": ws_frame(0x89, b"p" * 126),
    "ping_fragmented": ws_frame(0x09, "a") + ws_frame(0x80, "b"),
    "continuation_alone": ws_frame(0x80, "x"),
    "close_normal": ws_frame(0x81, "bye") + ws_frame(0x88, close_body(1000, b"done")),
    "close_1005": ws_frame(0x88, close_body(1005)),
    "close_1byte": ws_frame(0x88, b"\x03"),
    "close_bad_reason": ws_frame(0x88, close_body(1000, b"\xff")),
    "server_frames": ws_frame(0x81, "Hello", masked=False) + ws_frame(0x8A, "pong", masked=False)
                     + ws_frame(0x88, close_body(1001), masked=False),
    "too_big": ws_frame(0x82, b"z" * 1100),
    "upgrade": "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    "script": bytes([0x85]) + "κόσμε κόσμε κόσμε κόσμε κόσμε".encode() + bytes([0x41]) + b"ping!" * 2,
}
for name, data in websocket.items():
    write("websocket", name, data)
# regress_close_header_at_end (committed, not written here) is the fuzzer's first find: a close
# frame whose header ends the input, so the payload step got an empty span (memcpy from null).
