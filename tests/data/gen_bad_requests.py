#!/usr/bin/env python3
"""Generates tests/data/bad_requests.jsonl: detour's own bad-input cases (stdlib only).

    python3 tests/data/gen_bad_requests.py            # rewrites bad_requests.jsonl beside it
    python3 tests/data/gen_bad_requests.py --check    # exits 1 when the file is out of date

The records use the shared corpus format (tests/data/corpus/README.md): `id`, `category`,
`title`, `raw_b64` (and `raw`, a latin-1 rendering for people), `expect`, `rfc`, `note`.
They assume the corpus harness: detour on 127.0.0.1 with a `/__redirect/` prefix rule that
answers 307 ahead of a catch-all forward rule to one recording backend, default limits
(max_header_bytes 16384, at most 128 header fields), a new connection per case, read until
close or 1 s quiet.

Outcomes used here (the first five as in the corpus README):
  reject             responses[0] holds the first status (null: closing silently is fine too),
                     forwarded 0, close true.
  forward            `forwarded` complete requests reach the backend, responses in order,
                     `backend[i]` checks on the i-th request, `close` true/false/null (any).
  reject_or_forward  the RFC allows both: a status from reject_statuses and nothing
                     forwarded, or forwarding that meets if_forwarded. `close` applies to the
                     reject branch (nothing forwarded): true unless a case says otherwise, since
                     detour closes after every request it refuses; if_forwarded may carry its
                     own `close`.
  forward_then_reject  pipelined: the first request(s) forwarded, then an error status and
                     close; `responses` lists every response in order.
  respond            detour answers itself (the redirect rule): `responses`, forwarded 0,
                     `forbid_interim` (no 100 Continue).
  not_rejected       any answer but `forbidden_statuses`.
Any case may carry `forbid_backend_target` (a target that must never reach the backend).

Backend checks (`backend[i]`), beyond the corpus ones (method, target, host, body_b64,
framing, raw_body_b64, headers_absent, content_length_headers, head_has_bare_lf/_cr/
_obs_fold): `version` (the forwarded request line's version), `head_lacks_b64` (byte strings
that must not appear in the forwarded head).

`steps` (instead of raw_b64) extends the corpus step kinds with `{"pause_ms": N}` (let detour
start forwarding before the rest arrives) and `{"half_close": true}` (shut the client's
sending side).
"""

import base64
import json
import os
import sys

HOST = b"Host: localhost\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
# A CL.TE / TE.CL probe body: a chunked reader sees an empty body and then a second request;
# a Content-Length reader (with CL = len) sees one body.
PROBE = b"0\r\n\r\n" + SMUGGLED
OK = [[200]]

RFC_FRAMING = "RFC 9112 §6.3"
RFC_CLTE = "RFC 9112 §6.1, §6.3 (3)"
RFC_TE_UNKNOWN = "RFC 9112 §6.1 (501 for an unknown coding), §6.3 (4) (400 when chunked is not final)"
RFC_FIELD_LINE = "RFC 9112 §5.1 (no whitespace between field name and colon: MUST 400)"
RFC_OBS_FOLD = "RFC 9112 §5.2 (obs-fold in a request: MUST 400 or replace with SP)"
RFC_LINE = "RFC 9112 §2.2 (bare CR: MUST reject or replace; bare LF MAY be accepted)"
RFC_VALUE = "RFC 9110 §5.5 (CR, LF, NUL invalid: MUST reject or replace with SP; other CTLs invalid)"
RFC_NAME = "RFC 9110 §5.1 (field-name = token), RFC 9112 §5"
RFC_HOST = "RFC 9112 §3.2 (missing Host on 1.1, more than one Host, or an invalid value: MUST 400)"
RFC_CHUNK = "RFC 9112 §7.1 (chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF)"
RFC_TRAILER = "RFC 9112 §7.1.2 (trailer-section = *( field-line CRLF ))"
RFC_METHOD = "RFC 9110 §9.1 (unknown method: 501), RFC 9112 §3 (method = token)"
RFC_VERSION = "RFC 9110 §2.5, §15.6.6 (505), RFC 9112 §2.3 (HTTP-version = HTTP-name \"/\" DIGIT \".\" DIGIT)"
RFC_TARGET = "RFC 9112 §3.2 (request-target forms)"
RFC_LIMITS = "RFC 9112 §3 (414), RFC 6585 §5 (431)"

cases = []


def add(cid, category, title, raw=None, expect=None, rfc="", note=None, steps=None):
    rec = {"id": "detour-" + cid, "category": category, "title": title}
    if steps is not None:
        rec["steps"] = steps
        rec["raw"] = "".join(
            base64.b64decode(s["send_b64"]).decode("latin-1") for s in steps if "send_b64" in s
        )[:600]
    else:
        rec["raw_b64"] = base64.b64encode(raw).decode("ascii")
        text = raw.decode("latin-1")
        rec["raw"] = text if len(text) <= 600 else text[:600] + "...[%d bytes]" % len(raw)
    rec["expect"] = expect
    rec["rfc"] = rfc
    if note:
        rec["note"] = note
    cases.append(rec)


def chunk(data):
    """One chunk of a chunked body: size line, data, CRLF."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


def b64(b):
    return base64.b64encode(b).decode("ascii")


def send(b):
    return {"send_b64": b64(b)}


def reject(statuses=(400,), forbid=None, forbid_interim=None, permits=None):
    e = {"outcome": "reject", "responses": [list(statuses)], "close": True, "forwarded": 0}
    if forbid:
        e["forbid_backend_target"] = forbid
    if forbid_interim:
        e["forbid_interim"] = True
    if permits:
        e["rfc_permits_forward"] = {"note": permits}
    return e


def forward(n=1, responses=None, close=False, backend=None, forbid=None):
    e = {"outcome": "forward", "forwarded": n, "responses": responses or [[200]] * n,
         "close": close}
    if backend is not None:
        e["backend"] = backend
    if forbid:
        e["forbid_backend_target"] = forbid
    return e


def reject_or_forward(statuses, if_forwarded, forbid=None, close=True):
    e = {"outcome": "reject_or_forward", "reject_statuses": list(statuses), "close": close,
         "if_forwarded": if_forwarded}
    if forbid:
        e["forbid_backend_target"] = forbid
    return e


def then_reject(n, responses, forbid=None, backend=None):
    e = {"outcome": "forward_then_reject", "forwarded": n, "responses": responses, "close": True}
    if backend is not None:
        e["backend"] = backend
    if forbid:
        e["forbid_backend_target"] = forbid
    return e


def respond(responses, close=None, forbid=None, forbid_interim=False):
    e = {"outcome": "respond", "responses": responses, "forwarded": 0, "close": close}
    if forbid:
        e["forbid_backend_target"] = forbid
    if forbid_interim:
        e["forbid_interim"] = True
    return e


def chunked_post(chunks, target=b"/c", extra=b""):
    return b"POST " + target + b" HTTP/1.1\r\n" + HOST + extra + b"Transfer-Encoding: chunked\r\n\r\n" + chunks


def cl_post(body, target=b"/c", extra=b"", cl=None):
    n = str(len(body)).encode() if cl is None else cl
    return b"POST " + target + b" HTTP/1.1\r\n" + HOST + extra + b"Content-Length: " + n + b"\r\n\r\n" + body


def get(target=b"/", headers=HOST, version=b"HTTP/1.1", method=b"GET"):
    return method + b" " + target + b" " + version + b"\r\n" + headers + b"\r\n"


# ---------------------------------------------------------------------------------------------
# 1. Content-Length together with Transfer-Encoding: every order and spelling.
# ---------------------------------------------------------------------------------------------
CL = b"Content-Length: %d\r\n" % len(PROBE)
chunked_spellings = [
    ("plain", b"chunked"), ("capital", b"Chunked"), ("upper", b"CHUNKED"),
    ("tab", b"\tchunked"), ("trailing-ws", b"chunked  "), ("no-space", None),
]
for name, value in chunked_spellings:
    te = b"Transfer-Encoding:chunked\r\n" if value is None else b"Transfer-Encoding: " + value + b"\r\n"
    add("clte-cl-first-" + name, "cl-te",
        "Content-Length then Transfer-Encoding (%s), probe body with a smuggled request" % name,
        b"POST /c HTTP/1.1\r\n" + HOST + CL + te + b"\r\n" + PROBE,
        reject(forbid="/smuggled"), RFC_CLTE,
        "contract §5: both Content-Length and Transfer-Encoding: 400, nothing forwarded")
    add("clte-te-first-" + name, "cl-te",
        "Transfer-Encoding (%s) then Content-Length, probe body with a smuggled request" % name,
        b"POST /c HTTP/1.1\r\n" + HOST + te + CL + b"\r\n" + PROBE,
        reject(forbid="/smuggled"), RFC_CLTE)

for name, names in [("lower-names", (b"content-length", b"transfer-encoding")),
                    ("upper-names", (b"CONTENT-LENGTH", b"TRANSFER-ENCODING")),
                    ("mixed-names", (b"cOnTeNt-LeNgTh", b"TrAnSfEr-EnCoDiNg"))]:
    add("clte-" + name, "cl-te", "CL and TE with field names in %s" % name,
        b"POST /c HTTP/1.1\r\n" + HOST + names[0] + b": %d\r\n" % len(PROBE) + names[1] +
        b": chunked\r\n\r\n" + PROBE, reject(forbid="/smuggled"), RFC_CLTE)

add("clte-cl-zero", "cl-te", "Content-Length: 0 with Transfer-Encoding: chunked (TE.CL probe)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" +
    chunk(SMUGGLED) + b"0\r\n\r\n", reject(forbid="/smuggled"), RFC_CLTE)
add("clte-te-between-cls", "cl-te", "Transfer-Encoding between two equal Content-Lengths",
    b"POST /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: chunked\r\n" + CL + b"\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_CLTE)
add("clte-cl-between-tes", "cl-te", "Content-Length between two Transfer-Encoding fields",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n" + CL +
    b"Transfer-Encoding: chunked\r\n\r\n" + PROBE, reject(forbid="/smuggled"), RFC_CLTE)
add("clte-cl-list", "cl-te", "Transfer-Encoding with a Content-Length list '45, 45'",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\nContent-Length: 45, 45\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_CLTE)
add("clte-get", "cl-te", "GET with both Content-Length and Transfer-Encoding",
    b"GET /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: chunked\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_CLTE)
add("clte-http10", "cl-te", "HTTP/1.0 request with both Content-Length and Transfer-Encoding",
    b"POST /c HTTP/1.0\r\n" + HOST + CL + b"Transfer-Encoding: chunked\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), "RFC 9112 §6.1 (TE in HTTP/1.0: faulty framing, close)")
add("clte-keep-alive", "cl-te", "CL and TE with Connection: keep-alive still closes",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Connection: keep-alive\r\n" + CL +
    b"Transfer-Encoding: chunked\r\n\r\n" + PROBE, reject(forbid="/smuggled"), RFC_CLTE)
add("clte-expect-100", "cl-te", "CL and TE with Expect: 100-continue: no 100 Continue, 400",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\n" + CL +
    b"Transfer-Encoding: chunked\r\n\r\n", reject(forbid_interim=True), RFC_CLTE)
add("clte-redirect-path", "cl-te", "CL and TE on a path a redirect rule answers: the head is invalid first",
    b"POST /__redirect/x HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: chunked\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_CLTE,
    "the head fails validation before routing; a redirect then close would also be safe, 400 is the contract")
add("clte-cl-short-for-te", "cl-te", "TE body complete, Content-Length asks for more (TE.CL desync)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
    chunk(b"GPOST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\n\r\nx=1") + b"0\r\n\r\n", reject(), RFC_CLTE)
for name, value, statuses in [
    ("identity", b"identity", (400, 501)), ("gzip", b"gzip", (400, 501)),
    ("gzip-chunked", b"gzip, chunked", (400, 501)), ("chunked-identity", b"chunked, identity", (400,)),
    ("xchunked", b"xchunked", (400, 501)), ("chunked-twice", b"chunked, chunked", (400,)),
    ("empty", b"", (400, 501)), ("quoted", b'"chunked"', (400, 501)),
]:
    add("clte-te-" + name, "cl-te", "Content-Length with Transfer-Encoding: %s" % value.decode(),
        b"POST /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: " + value + b"\r\n\r\n" + PROBE,
        reject(statuses, forbid="/smuggled"), RFC_CLTE)
add("clte-two-te-fields", "cl-te", "Content-Length with TE: identity and TE: chunked in two fields",
    b"POST /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n" + PROBE,
    reject((400, 501), forbid="/smuggled"), RFC_CLTE)
add("clte-te-obs-fold", "cl-te", "Content-Length with the TE value on an obs-fold line",
    b"POST /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding:\r\n chunked\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_OBS_FOLD)
add("clte-te-in-folded-header", "cl-te", "Transfer-Encoding hidden in an obs-fold continuation line",
    b"POST /c HTTP/1.1\r\n" + HOST + CL + b"X-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_OBS_FOLD)
add("clte-cl-after-bare-lf", "cl-te", "Content-Length hidden behind a bare LF in another field",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\nX-Pad: a\nContent-Length: 45\r\n\r\n" + PROBE,
    reject(forbid="/smuggled"), RFC_LINE)

# Hop-by-hop stripping must never remove the framing of a body that is forwarded.
add("connection-names-content-length", "cl-te",
    "Connection: Content-Length (a proxy that drops the named field leaves the body unframed)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Connection: Content-Length\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/c", "body_b64": b64(SMUGGLED),
                                                           "framing": "content-length"}]},
                      forbid="/smuggled"),
    "RFC 9110 §7.6.1 (a connection option must not name a field meant for all recipients); RFC 9112 §6.3",
    "the framing field must reach the backend with the body (or the request is refused): "
    "otherwise the backend reads the body as a second request")
add("connection-names-content-length-list", "cl-te",
    "Connection: close, content-length (lower case, in a list)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Connection: close, content-length\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/c", "body_b64": b64(SMUGGLED),
                                                           "framing": "content-length"}]},
                      forbid="/smuggled"),
    "RFC 9110 §7.6.1; RFC 9112 §6.3")
add("connection-names-transfer-encoding", "cl-te",
    "Connection: Transfer-Encoding with a chunked body",
    chunked_post(chunk(SMUGGLED) + b"0\r\n\r\n", extra=b"Connection: Transfer-Encoding\r\n"),
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/c", "body_b64": b64(SMUGGLED),
                                                           "framing": "chunked"}]},
                      forbid="/smuggled"),
    "RFC 9110 §7.6.1; RFC 9112 §6.3",
    "forwarding the chunk bytes without Transfer-Encoding makes them a new request for the backend")

# Framing names spelled with '_': not framing for detour, but CGI and WSGI backends (and
# servers that map '_' to '-') read Transfer_Encoding as Transfer-Encoding.
RFC_UNDERSCORE = ("RFC 9110 §5.1 ('_' is a tchar, so the name is valid); CGI (RFC 3875 §4.1.18) "
                  "maps '-' to '_', so Content_Length and Content-Length collide at the backend")
UNDERSCORE_NOTE = "docs/security.md: a framing name spelled with '_' is refused (nginx drops such headers)"
for name, head in [
    ("te-with-cl", CL + b"Transfer_Encoding: chunked\r\n"),
    ("te-before-cl", b"Transfer_Encoding: chunked\r\n" + CL),
    ("te-lower", CL + b"transfer_encoding: chunked\r\n"),
    ("cl-alone", b"Content_Length: %d\r\n" % len(PROBE)),
    ("cl-with-te", b"Transfer-Encoding: chunked\r\nContent_Length: %d\r\n" % len(PROBE)),
    ("cl-with-cl", b"Content-Length: 5\r\nContent_Length: %d\r\n" % len(PROBE)),
]:
    add("underscore-" + name, "cl-te", "a framing header spelled with '_' (%s)" % name.replace("-", " "),
        b"POST /c HTTP/1.1\r\n" + HOST + head + b"\r\n" + PROBE, reject(forbid="/smuggled"),
        RFC_UNDERSCORE, UNDERSCORE_NOTE)
add("underscore-other-name", "cl-te", "control: other header names with '_' are forwarded",
    get(b"/u", headers=HOST + b"X_Request_Id: 7\r\nContent_Length_Hint: 3\r\n"),
    forward(backend=[{"target": "/u"}]), RFC_UNDERSCORE)

# ---------------------------------------------------------------------------------------------
# 2. Transfer-Encoding alone.
# ---------------------------------------------------------------------------------------------
BODY5 = b"5\r\nhello\r\n0\r\n\r\n"
for name, value, statuses in [
    ("chunked-identity", b"chunked, identity", (400,)),
    ("chunked-gzip", b"chunked, gzip", (400,)),
    ("chunked-twice", b"chunked, chunked", (400,)),
    ("identity-chunked", b"identity, chunked", (400, 501)),
    ("xchunked", b"xchunked", (501,)),
    ("chunkedx", b"chunkedx", (400, 501)),
    ("chunk", b"chunk", (400, 501)),
    ("quoted", b'"chunked"', (400, 501)),
    ("chunked-param", b"chunked;q=1", (400, 501)),
    ("nul", b"chunked\x00", (400, 501)),
    ("vtab", b"\x0bchunked", (400, 501)),
    ("empty", b"", (400, 501)),
    ("identity", b"identity", (501,)),
    ("gzip", b"gzip", (501,)),
    ("gzip-chunked", b"gzip, chunked", (501,)),
]:
    add("te-" + name, "transfer-encoding", "Transfer-Encoding: %s" % value.decode("latin-1"),
        b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: " + value + b"\r\n\r\n" + BODY5,
        reject(statuses), RFC_TE_UNKNOWN if statuses != (400,) else RFC_FRAMING,
        "a valid coding that detour does not implement: 501 (docs/security.md)"
        if name in ("gzip-chunked", "gzip", "identity", "xchunked") else None)
add("te-two-fields-chunked", "transfer-encoding", "Transfer-Encoding: chunked in two fields (chunked twice)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + BODY5,
    reject(), RFC_FRAMING)
add("te-two-fields-chunked-then-identity", "transfer-encoding", "TE: chunked then TE: identity (chunked not last)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + BODY5,
    reject(), RFC_FRAMING)
add("te-http10", "transfer-encoding", "Transfer-Encoding: chunked in an HTTP/1.0 request",
    b"POST /c HTTP/1.0\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n" + BODY5,
    reject(), "RFC 9112 §6.1 (TE in HTTP/1.0: treat the framing as faulty and close)")
add("te-obs-fold-value", "transfer-encoding", "Transfer-Encoding continued by obs-fold",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n , identity\r\n\r\n" + BODY5,
    reject(), RFC_OBS_FOLD)
add("te-space-before-colon", "transfer-encoding", "Transfer-Encoding : chunked (no Content-Length)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding : chunked\r\n\r\n" + BODY5,
    reject(), RFC_FIELD_LINE)
add("te-leading-comma", "transfer-encoding", "Transfer-Encoding: , chunked (an empty list element)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: , chunked\r\n\r\n" + BODY5,
    reject_or_forward([400, 501], {"forwarded": 1, "backend": [{"framing": "chunked", "body_b64": b64(b"hello")}]}),
    "RFC 9110 §5.6.1 (empty list elements are ignored) — rejecting is also safe")
# Valid spellings: must be forwarded as chunked, byte for byte.
# A value with a trailing TAB is valid too (OWS), but llhttp 8.1 refuses it; detour's stricter
# 400 is accepted (it forwards nothing, so no smuggling either way).
add("te-valid-ows", "transfer-encoding", "valid Transfer-Encoding spelling (ows): forwarded, or refused by strict llhttp 8.1",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: \tchunked \t\r\n\r\n" + BODY5,
    reject_or_forward([400], {"forwarded": 1, "backend": [{"method": "POST", "target": "/c", "framing": "chunked",
                                                         "body_b64": b64(b"hello"), "raw_body_b64": b64(BODY5)}]}),
    "RFC 9112 §7 (OWS around values)", "llhttp 8.1 (Debian) rejects the trailing TAB: a known, safe deviation")
for name, value in [("capital", b"Chunked"), ("upper", b"CHUNKED"),
                    ("no-space", None)]:
    te = b"Transfer-Encoding:chunked\r\n" if value is None else b"Transfer-Encoding: " + value + b"\r\n"
    add("te-valid-" + name, "transfer-encoding",
        "valid Transfer-Encoding spelling (%s) is forwarded chunked" % name,
        b"POST /c HTTP/1.1\r\n" + HOST + te + b"\r\n" + BODY5,
        forward(backend=[{"method": "POST", "target": "/c", "framing": "chunked",
                          "body_b64": b64(b"hello"), "raw_body_b64": b64(BODY5)}]),
        "RFC 9112 §7 (coding names are case-insensitive; OWS around values)")

# ---------------------------------------------------------------------------------------------
# 3. Content-Length alone: duplicates, conflicts, bad numbers.
# ---------------------------------------------------------------------------------------------
RFC_CL = "RFC 9112 §6.3 (5), RFC 9110 §8.6"
add("cl-duplicate-same", "content-length", "two Content-Length: 5 fields",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello"),
                                                           "content_length_headers": ["5"]}]}),
    RFC_CL, "identical duplicates MAY be merged into one (then the backend must see one CL)")
add("cl-list-same", "content-length", "Content-Length: 5, 5",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 5, 5\r\n\r\nhello",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello"),
                                                           "content_length_headers": ["5"]}]}),
    RFC_CL)
add("cl-conflict", "content-length", "Content-Length: 5 and Content-Length: 45 (smuggled request in the longer body)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 5\r\nContent-Length: 45\r\n\r\nhello" + SMUGGLED[:40],
    reject(forbid="/smuggled"), RFC_CL)
add("cl-conflict-reverse", "content-length", "Content-Length: 45 then Content-Length: 5",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 45\r\nContent-Length: 5\r\n\r\nhello" + SMUGGLED,
    reject(forbid="/smuggled"), RFC_CL)
add("cl-conflict-list", "content-length", "Content-Length: 5, 6",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 5, 6\r\n\r\nhello!", reject(), RFC_CL)
add("cl-conflict-case", "content-length", "content-length: 5 and CONTENT-LENGTH: 6",
    b"POST /c HTTP/1.1\r\n" + HOST + b"content-length: 5\r\nCONTENT-LENGTH: 6\r\n\r\nhello!", reject(), RFC_CL)
add("cl-conflict-http10", "content-length", "HTTP/1.0 with Content-Length: 5 and 6",
    b"POST /c HTTP/1.0\r\n" + HOST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", reject(), RFC_CL)
add("cl-duplicate-zero-and-body", "content-length", "Content-Length: 0 and Content-Length: 45",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 0\r\nContent-Length: 45\r\n\r\n" + SMUGGLED,
    reject(forbid="/smuggled"), RFC_CL)
for name, value in [("negative", b"-1"), ("plus", b"+5"), ("hex", b"0x5"), ("decimal", b"5.0"),
                    ("empty", b""), ("exponent", b"5e0"), ("word", b"five"), ("inner-space", b"5 5"),
                    ("nul", b"5\x00"), ("semicolon", b"5;"), ("leading-comma", b",5"),
                    ("vtab", b"\x0b5"), ("fullwidth-digit", "５".encode("utf-8"))]:
    add("cl-bad-" + name, "content-length", "Content-Length: %r" % value.decode("latin-1"),
        b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: " + value + b"\r\n\r\nhello", reject(), RFC_CL)
add("cl-overflow", "content-length", "Content-Length of 20 digits (overflows 64 bits)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 99999999999999999999\r\n\r\nhello",
    reject((400, 413)), RFC_CL, "RFC 9112 §6.3: anticipate large numerals, never wrap")
add("cl-overflow-2-64", "content-length", "Content-Length: 18446744073709551616 (2^64: wraps to 0)",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 18446744073709551616\r\n\r\n" + SMUGGLED,
    reject((400, 413), forbid="/smuggled"), RFC_CL)
add("cl-space-before-colon", "content-length", "Content-Length : 5",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length : 5\r\n\r\nhello", reject(), RFC_FIELD_LINE)
add("cl-tab-before-colon", "content-length", "Content-Length<TAB>: 5",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length\t: 5\r\n\r\nhello", reject(), RFC_FIELD_LINE)
add("cl-obs-fold-value", "content-length", "Content-Length value on an obs-fold line",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length:\r\n 5\r\n\r\nhello", reject(), RFC_OBS_FOLD)
add("cl-valid-trailing-ws", "content-length", "valid Content-Length spelling (trailing-ws): forwarded, or refused by strict llhttp 8.1",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Content-Length: 5 \t\r\n\r\nhello",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/c", "framing": "content-length", "body_b64": b64(b"hello")}]}),
    "RFC 9110 §5.5 (OWS is not part of the value)", "llhttp 8.1 (Debian) rejects the trailing TAB: a known, safe deviation")
for name, value in [("leading-zeros", b"005"), ("no-space", None)]:
    line = b"Content-Length:5\r\n" if value is None else b"Content-Length: " + value + b"\r\n"
    add("cl-valid-" + name, "content-length", "valid Content-Length spelling (%s) is forwarded" % name,
        b"POST /c HTTP/1.1\r\n" + HOST + line + b"\r\nhello",
        forward(backend=[{"target": "/c", "framing": "content-length", "body_b64": b64(b"hello")}]),
        "RFC 9110 §8.6 (Content-Length = 1*DIGIT), §5.5 (OWS is not part of the value)")
add("cl-body-then-pipelined", "content-length", "a body that ends where a second request begins: two requests",
    cl_post(b"hello") + SMUGGLED,
    forward(2, backend=[{"target": "/c", "body_b64": b64(b"hello")}, {"target": "/smuggled"}]),
    "RFC 9112 §9.3 (pipelining)", "control: this is legitimate pipelining, not smuggling")
add("cl-body-then-garbage", "content-length", "body longer than Content-Length: the rest is a bad request",
    cl_post(b"hello", cl=b"3") + b"\r\n\r\n",
    then_reject(1, [[200], [400, 501]], backend=[{"target": "/c", "body_b64": b64(b"hel")}]),
    RFC_FRAMING, "'lo\\r\\n\\r\\n' is not a request line")
add("cl-get-with-body", "content-length", "GET with a Content-Length body is forwarded with its body",
    b"GET /g HTTP/1.1\r\n" + HOST + b"Content-Length: 5\r\n\r\nhello",
    forward(backend=[{"method": "GET", "target": "/g", "body_b64": b64(b"hello")}]),
    "RFC 9110 §9.3.1 (a GET body has no defined semantics but is framed by Content-Length)")

# ---------------------------------------------------------------------------------------------
# 4. Chunked bodies: sizes, extensions, line ends, trailers.
# ---------------------------------------------------------------------------------------------
HEAD_CHUNKED = chunked_post(b"")  # the head alone: detour forwards it before the body arrives
for name, chunks in [
    ("size-overflow-17", b"10000000000000000\r\nhello\r\n0\r\n\r\n"),
    ("size-overflow-18f", b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    ("size-overflow-wraps-to-5", b"10000000000000005\r\nhello\r\n0\r\n\r\n"),
    ("size-negative", b"-5\r\nhello\r\n0\r\n\r\n"),
    ("size-0x", b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("size-plus", b"+5\r\nhello\r\n0\r\n\r\n"),
    ("size-leading-space", b" 5\r\nhello\r\n0\r\n\r\n"),
    ("size-trailing-space", b"5 \r\nhello\r\n0\r\n\r\n"),
    ("size-trailing-tab", b"5\t\r\nhello\r\n0\r\n\r\n"),
    ("size-empty", b"\r\nhello\r\n0\r\n\r\n"),
    ("size-not-hex", b"g\r\nhello\r\n0\r\n\r\n"),
    ("size-trailing-garbage", b"5g\r\nhello\r\n0\r\n\r\n"),
    ("size-nul", b"5\x00\r\nhello\r\n0\r\n\r\n"),
    ("size-underscore", b"0_5\r\nhello\r\n0\r\n\r\n"),
    ("ext-bare-lf", b"5;ext\nhello\r\n0\r\n\r\n"),
    ("ext-bare-cr", b"5;ext=v\rhello\r\n0\r\n\r\n"),
    ("ext-no-name", b"5;\r\nhello\r\n0\r\n\r\n"),
    ("ext-unterminated-quote", b'5;e="open\r\nhello\r\n0\r\n\r\n'),
    ("ext-ctl", b"5;e=\x01\r\nhello\r\n0\r\n\r\n"),
    ("ext-nul", b"5;e\x00\r\nhello\r\n0\r\n\r\n"),
    ("ext-no-semicolon", b"5 ext\r\nhello\r\n0\r\n\r\n"),
    ("data-too-long", b"3\r\nhello\r\n0\r\n\r\n"),
    ("data-too-short", b"5\r\nhel\r\n0\r\n\r\n"),
    ("data-no-crlf", b"5\r\nhello0\r\n\r\n"),
    ("data-bare-lf", b"5\r\nhello\n0\r\n\r\n"),
    ("data-bare-cr", b"5\r\nhello\r0\r\n\r\n"),
    ("size-bare-lf", b"5\nhello\r\n0\r\n\r\n"),
    ("size-bare-cr", b"5\rhello\r\n0\r\n\r\n"),
    ("last-chunk-bare-lf", b"5\r\nhello\r\n0\n\r\n"),
    ("final-crlf-bare-lf", b"5\r\nhello\r\n0\r\n\n"),
    ("final-crlf-bare-cr", b"5\r\nhello\r\n0\r\n\rX"),
    ("final-crlf-bare-lf-then-request", b"5\r\nhello\r\n0\r\n\n" + SMUGGLED),
    ("trailer-final-bare-lf", b"5\r\nhello\r\n0\r\nX-T: 1\r\n\n"),
    ("final-crlf-missing-next-request", b"5\r\nhello\r\n0\r\n" + SMUGGLED),
    ("no-last-chunk-next-request", b"5\r\nhello\r\n\r\n" + SMUGGLED),
]:
    add("chunked-" + name, "chunked", "chunked body: %s" % name.replace("-", " "),
        chunked_post(chunks), reject(forbid="/smuggled"), RFC_CHUNK,
        "detour streams the head (and good chunks) first: the backend must never get a complete message")

add("chunked-ext-no-name-value", "chunked", "chunked body: an extension with a value but no name",
    chunked_post(b"5;=v\r\nhello\r\n0\r\n\r\n"),
    reject_or_forward([400], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello")}]}, forbid="/smuggled"),
    RFC_CHUNK, "llhttp 8.1 accepts an empty extension name; the framing is unaffected, so forwarding the "
    "bytes unchanged is safe, and refusing is allowed too")

for name, chunks, statuses in [
    ("trailer-obs-fold", b"5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n", [400]),
    ("trailer-bare-lf", b"5\r\nhello\r\n0\r\nX-T: a\nX-U: b\r\n\r\n", [400]),
    ("trailer-bare-cr", b"5\r\nhello\r\n0\r\nX-T: a\rX-U: b\r\n\r\n", [400]),
    ("trailer-space-before-colon", b"5\r\nhello\r\n0\r\nX-T : a\r\n\r\n", [400]),
    ("trailer-bad-name", b"5\r\nhello\r\n0\r\nBad Name: a\r\n\r\n", [400]),
    ("trailer-no-colon", b"5\r\nhello\r\n0\r\nNoColon\r\n\r\n", [400]),
    ("trailer-nul", b"5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n", [400]),
    ("trailer-request-line", b"5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n", [400]),
]:
    add("chunked-" + name, "chunked", "chunked body with a bad trailer: %s" % name[8:].replace("-", " "),
        chunked_post(chunks), reject(statuses, forbid="/smuggled"),
        RFC_TRAILER + "; " + (RFC_OBS_FOLD if "fold" in name else RFC_FIELD_LINE if "colon" in name
                              else RFC_VALUE if "nul" in name else RFC_LINE if "bare" in name else RFC_NAME),
        "trailer field lines follow the same rules as header field lines; detour forwards "
        "chunk framing byte for byte, so a bad trailer must cut the request off")

for name, chunks in [
    ("valid-ext", b"5;name=value\r\nhello\r\n0\r\n\r\n"),
    ("valid-ext-quoted", b'5;name="v a;l"\r\nhello\r\n0\r\n\r\n'),
    ("valid-upper-hex", b"A\r\n0123456789\r\n0\r\n\r\n"),
    ("valid-trailer", b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    ("valid-many-chunks", b"1\r\nh\r\n1\r\ne\r\n3\r\nllo\r\n0\r\n\r\n"),
]:
    add("chunked-" + name, "chunked", "control: %s is forwarded byte for byte" % name.replace("-", " "),
        chunked_post(chunks),
        forward(backend=[{"target": "/c", "framing": "chunked", "raw_body_b64": b64(chunks)}]),
        RFC_CHUNK)
add("chunked-leading-zeros", "chunked", "chunk size with 20 leading zeros",
    chunked_post(b"000000000000000000005\r\nhello\r\n0\r\n\r\n"),
    reject_or_forward([400], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello")}]}),
    RFC_CHUNK + " (chunk-size = 1*HEXDIG: valid; rejecting is safe)")
RFC_TRAILER_FIELDS = ("RFC 9110 §6.5.1 (framing, routing and connection-management fields are not "
                      "allowed in trailers; a recipient may merge trailers into the header section)")
add("chunked-trailer-content-length", "chunked", "a Content-Length field in the trailer section",
    chunked_post(b"5\r\nhello\r\n0\r\nContent-Length: 45\r\n\r\n"),
    reject(forbid="/smuggled"), RFC_TRAILER_FIELDS,
    "detour relays the trailer section byte for byte: a backend that merges it would reframe")
for name, field in [("transfer-encoding", b"Transfer-Encoding: chunked"), ("host", b"Host: evil.example"),
                    ("connection", b"Connection: close"), ("keep-alive", b"Keep-Alive: timeout=5"),
                    ("te", b"TE: trailers"), ("trailer", b"Trailer: X-T"), ("upgrade", b"Upgrade: websocket"),
                    ("proxy-connection", b"Proxy-Connection: keep-alive"),
                    ("content-length-lower", b"content-length: 0"),
                    ("content-length-underscore", b"Content_Length: 45"),
                    ("host-after-valid-field", b"X-Checksum: 1\r\nHost: evil.example")]:
    add("chunked-trailer-" + name, "chunked", "a prohibited field in the trailer section: %s" % field.decode(),
        chunked_post(b"5\r\nhello\r\n0\r\n" + field + b"\r\n\r\n"), reject(forbid="/smuggled"),
        RFC_TRAILER_FIELDS, "the backend must never get the complete request")
add("midforward-trailer-host", "mid-forward", "a Host trailer field after detour started forwarding",
    steps=[send(HEAD_CHUNKED + b"5\r\nhello\r\n0\r\n"), {"pause_ms": 300},
           send(b"Host: evil.example\r\n\r\n")],
    expect=reject(forbid="/smuggled"), rfc=RFC_TRAILER_FIELDS,
    note="the backend has the head and the body; its connection must close before the trailer "
         "section ends, and the client gets 400")
add("midforward-trailer-content-length-split", "mid-forward", "a Content-Length trailer whose name arrives in two reads",
    steps=[send(HEAD_CHUNKED + b"5\r\nhello\r\n0\r\nContent-Le"), {"pause_ms": 300},
           send(b"ngth: 0\r\n\r\n")],
    expect=reject(forbid="/smuggled"), rfc=RFC_TRAILER_FIELDS)
add("chunked-huge-extension", "chunked", "a 20000-byte chunk extension",
    chunked_post(b"5;e=" + b"x" * 20000 + b"\r\nhello\r\n0\r\n\r\n"),
    reject_or_forward([400, 413, 431], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello")}]}),
    "RFC 9112 §7.1.1 (a server ought to limit chunk extensions and answer 4xx beyond)")
add("chunked-many-trailers", "chunked", "200 trailer fields",
    chunked_post(b"5\r\nhello\r\n0\r\n" + b"".join(b"X-T%d: v\r\n" % i for i in range(200)) + b"\r\n"),
    reject_or_forward([400, 413, 431], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello")}]}),
    "RFC 9112 §7.1.2; limits apply to trailers as to headers")

# Mid-forward: detour has already sent the head (and good chunks) when the bad bytes arrive.
for name, first, second in [
    ("bad-size", b"5\r\nhello\r\n", b"zz\r\nhello\r\n0\r\n\r\n"),
    ("data-too-long", b"5\r\nhello\r\n", b"3\r\nhello\r\n0\r\n\r\n"),
    ("smuggled-after-last-chunk", b"5\r\nhello\r\n", b"0\r\n" + SMUGGLED),
    ("bare-lf-final", b"5\r\nhello\r\n0\r\n", b"\n"),
    ("overflow-size", b"5\r\nhello\r\n", b"fffffffffffffffffffff\r\n"),
    ("trailer-obs-fold", b"5\r\nhello\r\n0\r\nX-T: a\r\n", b" b\r\n\r\n"),
]:
    add("midforward-" + name, "mid-forward",
        "chunked body turns bad after detour started forwarding: %s" % name.replace("-", " "),
        steps=[send(HEAD_CHUNKED + first), {"pause_ms": 300}, send(second)],
        expect=reject(forbid="/smuggled"), rfc=RFC_CHUNK,
        note="the backend has the head and the first chunk; its connection must close before "
             "the message could complete, and the client gets 400")
# Valid requests whose trailer field arrives in two pieces while detour is forwarding: the
# parser must keep its place inside the field across reads.
for name, first, second in [
    ("trailer-value-split", b"5\r\nhello\r\n0\r\nX-Trailer: aaa", b"bbb\r\n\r\n"),
    ("trailer-name-split", b"5\r\nhello\r\n0\r\nX-Tra", b"iler: 1\r\n\r\n"),
    ("trailer-second-field-split", b"5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2", b"2\r\n\r\n"),
]:
    add("midforward-" + name, "mid-forward", "valid chunked body, %s across two reads" % name.replace("-", " "),
        steps=[send(HEAD_CHUNKED + first), {"pause_ms": 300}, send(second)],
        expect=forward(backend=[{"target": "/c", "framing": "chunked", "raw_body_b64": b64(first + second)}]),
        rfc=RFC_TRAILER, note="a valid request: detour must forward it whole and keep running")
add("chunked-large-trailers", "chunked", "valid chunked body with 25 KB of trailer values in one send",
    chunked_post(b"5\r\nhello\r\n0\r\nX-Trailer: " + b"t" * 5000 + b"\r\nX-T2: " + b"u" * 20000 + b"\r\n\r\n"),
    reject_or_forward([400, 413, 431], {"forwarded": 1, "backend": [{"body_b64": b64(b"hello")}]}),
    RFC_TRAILER + "; limits apply to trailers as to headers", "either answer; detour must keep running")
add("midforward-client-gone-chunked", "mid-forward", "client half-closes in the middle of a chunked body",
    steps=[send(HEAD_CHUNKED + b"5\r\nhello\r\n"), {"pause_ms": 300}, {"half_close": True}],
    expect=reject((400, None)), rfc=RFC_FRAMING,
    note="an incomplete message must not be completed towards the backend")
add("midforward-client-gone-cl", "mid-forward", "client half-closes before its Content-Length body is complete",
    steps=[send(cl_post(b"hello", cl=b"10")), {"pause_ms": 300}, {"half_close": True}],
    expect=reject((400, None)), rfc="RFC 9112 §8 (incomplete messages)",
    note="the backend must not see a complete 10-byte body")
add("midforward-expect-100-bad-chunk", "mid-forward",
    "Expect: 100-continue, backend's 100 relayed, then a bad chunk",
    steps=[send(chunked_post(b"", extra=b"Expect: 100-continue\r\n")),
           {"expect_interim": 100, "timeout_ms": 2000}, send(b"5\r\nhello\r\nzz\r\n")],
    expect=reject((400, None)), rfc=RFC_CHUNK,
    note="after the interim response the client may get 400 or only a close")

# ---------------------------------------------------------------------------------------------
# 5. Head syntax: obs-fold, whitespace before colon, bare LF/CR, NUL and controls, names.
# ---------------------------------------------------------------------------------------------
for name, raw in [
    ("obs-fold-space", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\r\n b\r\n\r\n"),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\r\n\tb\r\n\r\n"),
    ("obs-fold-hides-cl", b"POST /c HTTP/1.1\r\n" + HOST + b"X-A: a\r\n Content-Length: 45\r\n\r\n" + SMUGGLED),
    ("obs-fold-in-host", b"GET / HTTP/1.1\r\nHost: local\r\n host\r\n\r\n"),
    ("obs-fold-last-line", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\r\n \r\n\r\n"),
    ("first-line-indented", b"GET / HTTP/1.1\r\n Host: localhost\r\n\r\n"),
    ("first-line-indented-tab", b"GET / HTTP/1.1\r\n\tX-A: a\r\n" + HOST + b"\r\n"),
]:
    add("head-" + name, "head-syntax", "obs-fold: %s" % name.replace("-", " "), raw,
        reject(forbid="/smuggled"),
        "RFC 9112 §2.2 (whitespace before the first field line: reject or ignore)" if "indented" in name else RFC_OBS_FOLD)

for name, raw in [
    ("host-space-colon", b"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n"),
    ("name-space-colon", b"GET / HTTP/1.1\r\n" + HOST + b"X-A : b\r\n\r\n"),
    ("name-tab-colon", b"GET / HTTP/1.1\r\n" + HOST + b"X-A\t: b\r\n\r\n"),
    ("name-many-spaces-colon", b"GET / HTTP/1.1\r\n" + HOST + b"X-A    : b\r\n\r\n"),
]:
    add("head-" + name, "head-syntax", "whitespace between field name and colon: %s" % name, raw,
        reject(), RFC_FIELD_LINE)

PERMIT_LF = "RFC 9112 §2.2 lets a recipient accept a bare LF as a line end; the contract rejects it"
for name, raw in [
    ("bare-lf-request-line", b"GET / HTTP/1.1\n" + HOST + b"\r\n"),
    ("bare-lf-header-line", b"GET / HTTP/1.1\r\nHost: localhost\nX-A: b\r\n\r\n"),
    ("bare-lf-end-of-head", b"GET / HTTP/1.1\r\n" + HOST + b"\n"),
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: localhost\n\n"),
    ("bare-lf-hides-te", b"POST /c HTTP/1.1\r\n" + HOST + b"X-A: a\nTransfer-Encoding: chunked\r\nContent-Length: 45\r\n\r\n" + PROBE),
    ("bare-lf-in-value", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\nb\r\n\r\n"),
]:
    add("head-" + name, "head-syntax", "bare LF: %s" % name[8:].replace("-", " "), raw,
        reject(forbid="/smuggled", permits=PERMIT_LF), RFC_LINE)

for name, raw in [
    ("bare-cr-in-value", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\rb\r\n\r\n"),
    ("bare-cr-line-end", b"GET / HTTP/1.1\r\nHost: localhost\rX-A: b\r\n\r\n"),
    ("bare-cr-request-line", b"GET / HTTP/1.1\r" + HOST + b"\r\n"),
    ("bare-cr-end-of-head", b"GET / HTTP/1.1\r\n" + HOST + b"\r\r\n"),
    ("cr-cr-lf", b"GET / HTTP/1.1\r\r\n" + HOST + b"\r\n"),
    ("bare-cr-in-target", b"GET /a\rb HTTP/1.1\r\n" + HOST + b"\r\n"),
]:
    add("head-" + name, "head-syntax", "bare CR: %s" % name.replace("-", " "), raw,
        reject(permits="RFC 9112 §2.2 also allows replacing a bare CR with SP before forwarding"), RFC_LINE)

for name, raw in [
    ("nul-in-value", b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\x00b\r\n\r\n"),
    ("nul-in-name", b"GET / HTTP/1.1\r\n" + HOST + b"X-\x00A: b\r\n\r\n"),
    ("nul-in-host", b"GET / HTTP/1.1\r\nHost: local\x00host\r\n\r\n"),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("nul-before-method", b"\x00GET / HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("nul-in-method", b"GE\x00T / HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("nul-after-version", b"GET / HTTP/1.1\x00\r\n" + HOST + b"\r\n"),
    ("nul-line", b"GET / HTTP/1.1\r\n" + HOST + b"\x00\r\n\r\n"),
]:
    add("head-" + name, "head-syntax", "NUL byte: %s" % name[4:].replace("-", " "), raw,
        reject(permits="RFC 9110 §5.5 also allows replacing NUL in a field value with SP" if "value" in name else None),
        RFC_VALUE if "value" in name or "host" in name else "RFC 9112 §3 (request-line), §5")

PERMIT_CTL = "RFC 9110 §5.5 lets a recipient retain other CTLs in a safe context; detour's strict parser rejects"
for name, byte in [("soh", b"\x01"), ("bs", b"\x08"), ("vt", b"\x0b"), ("ff", b"\x0c"), ("esc", b"\x1b"),
                   ("us", b"\x1f"), ("del", b"\x7f")]:
    add("head-ctl-%s-in-value" % name, "head-syntax", "control byte 0x%02x in a header value" % byte[0],
        b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a" + byte + b"b\r\n\r\n", reject(permits=PERMIT_CTL), RFC_VALUE)
for name, byte in [("soh", b"\x01"), ("tab", b"\t"), ("del", b"\x7f"), ("space", b" "), ("esc", b"\x1b"),
                   ("obs-text", b"\xff")]:
    add("head-%s-in-target" % name, "head-syntax", "byte 0x%02x inside the request-target" % byte[0],
        b"GET /a" + byte + b"b HTTP/1.1\r\n" + HOST + b"\r\n", reject(),
        "RFC 9112 §3.2 (request-target is a URI reference: no CTL, SP or non-ASCII), RFC 3986")

for name, fname in [("space", b"Bad Name"), ("paren", b"Bad(Name)"), ("quote", b'Bad"Name'),
                    ("slash", b"Bad/Name"), ("at", b"Bad@Name"), ("brackets", b"[Bad]"), ("braces", b"{Bad}"),
                    ("del", b"Bad\x7fName"), ("obs-text", b"B\xe4d"), ("utf8", "Bäd".encode("utf-8")),
                    ("comma", b"Bad,Name"), ("semicolon", b"Bad;Name"), ("equals", b"Bad=Name"),
                    ("question", b"Bad?Name"), ("backslash", b"Bad\\Name"), ("tab-inside", b"Bad\tName"),
                    ("ctl", b"Bad\x01Name"), ("empty", b"")]:
    add("head-name-" + name, "head-syntax", "invalid field name (%s)" % name,
        b"GET / HTTP/1.1\r\n" + HOST + fname + b": v\r\n\r\n", reject(), RFC_NAME)
add("head-name-empty-no-space", "head-syntax", "a field line that starts with the colon",
    b"GET / HTTP/1.1\r\n" + HOST + b":v\r\n\r\n", reject(), RFC_NAME)
add("head-no-colon", "head-syntax", "a field line without a colon",
    b"GET / HTTP/1.1\r\n" + HOST + b"NoColonHere\r\n\r\n", reject(), "RFC 9112 §5 (field-line = field-name \":\" ...)")
add("head-valid-name-all-tchars", "head-syntax", "control: a name made of every tchar symbol is forwarded",
    b"GET / HTTP/1.1\r\n" + HOST + b"X!#$%&'*+-.^_`|~: ok\r\n\r\n",
    forward(backend=[{"target": "/"}]), RFC_NAME)
add("head-valid-empty-value", "head-syntax", "control: an empty field value is forwarded",
    b"GET / HTTP/1.1\r\n" + HOST + b"X-Empty:\r\n\r\n", forward(backend=[{"target": "/"}]),
    "RFC 9110 §5.5 (field-value may be empty)")
add("head-obs-text-in-value", "head-syntax", "obs-text (0x80-0xff) in a value",
    b"GET / HTTP/1.1\r\n" + HOST + b"X-A: caf\xe9\r\n\r\n",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/"}]}),
    "RFC 9110 §5.5 (obs-text is allowed in field values)")

# Request-line whitespace and stray bytes.
for name, raw, statuses in [
    ("trailing-space", b"GET / HTTP/1.1 \r\n" + HOST + b"\r\n", (400, 505)),
    ("tab-separator", b"GET\t/ HTTP/1.1\r\n" + HOST + b"\r\n", (400, 501)),
    ("leading-space", b" GET / HTTP/1.1\r\n" + HOST + b"\r\n", (400,)),
    ("no-target", b"GET HTTP/1.1\r\n" + HOST + b"\r\n", (400, 505)),
    ("tls-client-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)) + b"\x00\x00\x02\x13\x01\x01\x00", (400, 501, None)),
    ("ssh-banner", b"SSH-2.0-OpenSSH_9.2p1\r\n", (400, 501, None)),
    ("only-crlf-then-garbage", b"\r\n\r\n\r\n{}\r\n\r\n", (400, None)),
]:
    add("reqline-" + name, "request-line", "request line: %s" % name.replace("-", " "), raw,
        reject(statuses, permits="RFC 9112 §3 allows a lenient whitespace split; detour is strict"
               if "space" in name or "tab" in name else None),
        "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version)")
for name, raw in [("double-space-after-method", b"GET  /sp HTTP/1.1\r\n" + HOST + b"\r\n"),
                  ("double-space-before-version", b"GET /sp  HTTP/1.1\r\n" + HOST + b"\r\n")]:
    add("reqline-" + name, "request-line", "request line: %s" % name.replace("-", " "), raw,
        reject_or_forward([400, 505], {"forwarded": 1, "backend": [{"target": "/sp", "version": "HTTP/1.1"}]}),
        "RFC 9112 §3 (recipients MAY split the request-line on whitespace)",
        "if forwarded, the request line must be regenerated with single spaces")
add("reqline-leading-crlf", "request-line", "one empty line before the request line is ignored",
    b"\r\nGET /lead HTTP/1.1\r\n" + HOST + b"\r\n",
    forward(backend=[{"target": "/lead"}]), "RFC 9112 §2.2 (SHOULD ignore at least one empty line)")
add("reqline-leading-bare-lf", "request-line", "a bare LF before the request line",
    b"\nGET /lead HTTP/1.1\r\n" + HOST + b"\r\n",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/lead"}]}),
    "RFC 9112 §2.2")

# ---------------------------------------------------------------------------------------------
# 6. Methods.
# ---------------------------------------------------------------------------------------------
for name, method in [("lower-get", b"get"), ("lower-post", b"post"), ("title-get", b"Get"),
                     ("mixed-get", b"gEt"), ("foo", b"FOO"), ("xget", b"XGET"), ("getx", b"GETX"),
                     ("get2", b"GET2"), ("brew", b"BREW"), ("frobnicate", b"FROBNICATE"),
                     ("symbols", b"!#$%&'*+-.^_`|~")]:
    add("method-unknown-" + name, "method", "unknown method token %s" % method.decode(),
        method + b" /m HTTP/1.1\r\n" + HOST + b"Content-Length: 5\r\n\r\nhello", reject((501,)), RFC_METHOD,
        "methods are case-sensitive: a lower-case GET is another, unknown, method")
# A token where the request line should be, but no target or version: malformed (400), not an
# unknown method (501).
for name, raw in [("token-only", b"HELLO\r\n\r\n"), ("token-only-then-headers", b"HELLO\r\n" + HOST + b"\r\n"),
                  ("unknown-method-no-version", b"BREW /pot\r\n" + HOST + b"\r\n"),
                  ("unknown-method-no-target", b"BREW HTTP/1.1\r\n" + HOST + b"\r\n"),
                  ("unknown-method-bare-lf", b"BREW /pot HTTP/1.1\n" + HOST + b"\r\n")]:
    add("method-line-" + name, "method", "no request line after a token (%s)" % name.replace("-", " "),
        raw, reject((400,)), "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version); "
        "§2.2 (an invalid request line: 400)")
for name, method in [("paren", b"GE(T"), ("quote", b'G"T'), ("colon", b"GET:"), ("angle", b"<GET>"),
                     ("slash", b"GET/"), ("at", b"G@T"), ("obs-text", b"G\xc9T"), ("ctl", b"G\x01T")]:
    add("method-malformed-" + name, "method", "method that is not a token (%s)" % name,
        method + b" /m HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), RFC_METHOD)
add("method-connect", "method", "CONNECT on a reverse proxy",
    b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n" + SMUGGLED,
    reject((405,), forbid="/smuggled"), "RFC 9110 §9.3.6 (CONNECT), §15.5.6 (405)",
    "the bytes after a CONNECT head are tunnel data, never a request; docs/security.md: 405")
add("method-connect-origin-form", "method", "CONNECT with an origin-form target",
    b"CONNECT / HTTP/1.1\r\n" + HOST + b"\r\n", reject((400, 405)), "RFC 9112 §3.2.3 (authority-form only for CONNECT)")
for name, method in [("get", b"GET"), ("head", b"HEAD"), ("delete", b"DELETE"), ("put", b"PUT")]:
    add("asterisk-" + name, "request-target", "asterisk-form with %s" % method.decode(),
        method + b" * HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)),
        "RFC 9112 §3.2.4 (asterisk-form only for OPTIONS)")
add("asterisk-post-with-body", "request-target", "asterisk-form POST with a body",
    b"POST * HTTP/1.1\r\n" + HOST + b"Content-Length: 45\r\n\r\n" + SMUGGLED,
    reject((400,), forbid="/smuggled"), "RFC 9112 §3.2.4")
add("asterisk-with-query", "request-target", "OPTIONS *?x (not asterisk-form)",
    b"OPTIONS *?x HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), "RFC 9112 §3.2.4")
add("asterisk-options", "request-target", "control: OPTIONS * is answered, not refused",
    b"OPTIONS * HTTP/1.1\r\n" + HOST + b"\r\n",
    {"outcome": "not_rejected", "forbidden_statuses": [400, 404, 405, 501, 505]},
    "RFC 9112 §3.2.4")

# ---------------------------------------------------------------------------------------------
# 7. Versions and other protocols.
# ---------------------------------------------------------------------------------------------
add("version-1-2", "version", "HTTP/1.2",
    get(b"/v", version=b"HTTP/1.2"),
    reject_or_forward([505, 400], {"forwarded": 1, "backend": [{"target": "/v", "version": "HTTP/1.1"}]}),
    "RFC 9110 §6.2 (a higher minor version SHOULD be processed as the highest one implemented); "
    "detour answers 505")
for name, version, statuses in [
    ("2-0", b"HTTP/2.0", (505,)), ("3-0", b"HTTP/3.0", (505,)), ("5-6", b"HTTP/5.6", (505,)),
    ("9-9", b"HTTP/9.9", (505,)), ("0-9-explicit", b"HTTP/0.9", (400, 505)),
    ("1-10", b"HTTP/1.10", (400, 505)), ("01-1", b"HTTP/01.1", (400, 505)), ("1", b"HTTP/1", (400, 505)),
    ("2", b"HTTP/2", (400, 505)), ("1-1-1", b"HTTP/1.1.1", (400, 505)), ("lower-name", b"http/1.1", (400, 505)),
    ("https-name", b"HTTPS/1.1", (400, 505)), ("space-after-slash", b"HTTP/ 1.1", (400, 505)),
    ("letters", b"HTTP/a.b", (400, 505)), ("trailing-x", b"HTTP/1.1x", (400, 505)),
    ("ice", b"ICE/1.0", (400, 505)),
]:
    add("version-" + name, "version", "request line with version %s" % version.decode(),
        get(b"/v", version=version), reject(statuses), RFC_VERSION)
add("version-nul-inside", "version", "a NUL inside the version",
    b"GET / HTTP/1.\x001\r\n" + HOST + b"\r\n", reject((400, 505)), RFC_VERSION)
add("version-http09", "version", "HTTP/0.9 simple request followed by an empty line",
    b"GET /smuggled\r\n\r\n", reject((400, 505), forbid="/smuggled"), "RFC 9112 Appendix C.1 (HTTP/0.9 not supported)")
add("version-http09-with-headers", "version", "HTTP/0.9-style request line with headers after it",
    b"GET /smuggled\r\n" + HOST + b"\r\n", reject((400, 505), forbid="/smuggled"), "RFC 9112 Appendix C.1")
add("version-missing-with-body", "version", "a request line without a version, then headers and a body",
    b"POST /smuggled\r\n" + HOST + b"Content-Length: 5\r\n\r\nhello", reject((400, 505), forbid="/smuggled"),
    "RFC 9112 §3 (HTTP-version is required; SHOULD NOT autocorrect an invalid request-line)")
add("h2-preface", "version", "HTTP/2 connection preface on a plain HTTP/1.1 listener",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", reject((505,)), "RFC 9113 §3.4", "docs/security.md: 505, close")
add("h2-preface-settings", "version", "HTTP/2 preface followed by a SETTINGS frame",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00", reject((505,)), "RFC 9113 §3.4")
add("h2-get-2-0", "version", "a plain GET claiming HTTP/2.0",
    get(b"/v", version=b"HTTP/2.0"), reject((505,)), RFC_VERSION)
add("version-1-0-no-host", "version", "control: HTTP/1.0 without Host is forwarded",
    get(b"/v10", headers=b"", version=b"HTTP/1.0"), forward(close=True, backend=[{"target": "/v10"}]),
    "RFC 9112 §3.2 (Host required in HTTP/1.1 only)")
add("version-1-0-then-pipelined", "version", "HTTP/1.0 without keep-alive, then a pipelined request",
    get(b"/v10", version=b"HTTP/1.0") + SMUGGLED,
    forward(1, close=True, backend=[{"target": "/v10"}], forbid="/smuggled"),
    "RFC 9112 §9.3 (HTTP/1.0 closes after the response unless keep-alive)")

# ---------------------------------------------------------------------------------------------
# 8. Request-target forms and Host.
# ---------------------------------------------------------------------------------------------
add("absolute-form-matching-host", "request-target", "control: absolute-form with a matching Host",
    b"GET http://localhost/abs?q=1 HTTP/1.1\r\n" + HOST + b"\r\n",
    forward(backend=[{"target": "/abs?q=1", "host": "localhost"}]), "RFC 9112 §3.2.2")
add("absolute-form-host-case", "request-target", "control: absolute-form host differs from Host only in case",
    b"GET http://LOCALHOST/abs HTTP/1.1\r\n" + HOST + b"\r\n",
    forward(backend=[{"target": "/abs"}]), "RFC 9110 §4.2.3 (host is case-insensitive)")
add("absolute-form-disagreeing-host", "request-target", "absolute-form with a Host that disagrees",
    b"GET http://localhost/abs HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    reject((400,), permits="RFC 9112 §3.2.2: a server MUST ignore Host and use the target's authority "
                           "(forwarding with Host rewritten to it would also conform)"),
    "RFC 9112 §3.2.2", "contract: a Host that disagrees is refused")
add("absolute-form-disagreeing-port", "request-target", "absolute-form with a port that Host lacks",
    b"GET http://localhost:8081/abs HTTP/1.1\r\n" + HOST + b"\r\n",
    reject((400,), permits="RFC 9112 §3.2.2 (Host is ignored for absolute-form)"), "RFC 9112 §3.2.2")
add("absolute-form-disagreeing-host-body", "request-target", "absolute-form with a disagreeing Host and a body",
    b"POST http://other.example/abs HTTP/1.1\r\n" + HOST + b"Content-Length: 45\r\n\r\n" + SMUGGLED,
    reject((400,), forbid="/smuggled"), "RFC 9112 §3.2.2")
add("absolute-form-no-host", "request-target", "absolute-form without Host on HTTP/1.1",
    b"GET http://localhost/abs HTTP/1.1\r\n\r\n", reject((400,)), RFC_HOST)
add("absolute-form-two-hosts", "request-target", "absolute-form with two Host fields",
    b"GET http://localhost/abs HTTP/1.1\r\n" + HOST + HOST + b"\r\n", reject((400,)), RFC_HOST)
add("absolute-form-userinfo", "request-target", "absolute-form with userinfo",
    b"GET http://user:pw@localhost/abs HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)),
    "RFC 9110 §4.2.4 (userinfo in http URIs: treat as an error)")
add("absolute-form-ftp", "request-target", "absolute-form with the ftp scheme",
    b"GET ftp://localhost/abs HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), RFC_TARGET)
add("absolute-form-empty-authority", "request-target", "absolute-form http:///abs",
    b"GET http:///abs HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), "RFC 9110 §4.2.1 (empty host is invalid for http)")
add("absolute-form-http10-no-host", "request-target", "control: HTTP/1.0 absolute-form without Host",
    b"GET http://localhost/abs HTTP/1.0\r\n\r\n", forward(close=True, backend=[{"target": "/abs"}]),
    "RFC 9112 §3.2.2")
add("authority-form-get", "request-target", "authority-form with GET",
    b"GET localhost:80 HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), "RFC 9112 §3.2.3")
add("relative-target", "request-target", "a target without the leading slash",
    b"GET abs HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), RFC_TARGET)
add("dot-dot-target", "request-target", "a target starting with ../",
    b"GET ../etc/passwd HTTP/1.1\r\n" + HOST + b"\r\n", reject((400,)), RFC_TARGET)
add("fragment-in-target", "request-target", "a fragment in the request-target",
    b"GET /frag#x HTTP/1.1\r\n" + HOST + b"\r\n",
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/frag"}]}),
    "RFC 9112 §3.2 (no fragment in request-target); a recipient may strip it")

for name, headers in [("missing", b""), ("missing-with-body", b"Content-Length: 5\r\n"),
                      ("duplicate-same", HOST + HOST), ("duplicate-differs", HOST + b"Host: evil.example\r\n"),
                      ("duplicate-case", HOST + b"host: localhost\r\n"), ("duplicate-one-empty", HOST + b"Host:\r\n"),
                      ("space-inside", b"Host: local host\r\n"), ("bad-port", b"Host: localhost:abc\r\n"),
                      ("port-too-big", b"Host: localhost:99999\r\n"), ("userinfo", b"Host: user@localhost\r\n"),
                      ("unclosed-ipv6", b"Host: [::1\r\n"), ("bad-ipv6", b"Host: [zz::1]\r\n"),
                      ("slash", b"Host: localhost/evil\r\n"), ("query", b"Host: localhost?x\r\n"),
                      ("hash", b"Host: localhost#x\r\n"), ("scheme", b"Host: http://localhost\r\n"),
                      ("two-ports", b"Host: localhost:80:80\r\n"), ("backslash", b"Host: localhost\\evil\r\n")]:
    body = b"hello" if "body" in name else b""
    add("host-" + name, "host", "Host: %s" % name.replace("-", " "),
        b"POST /h HTTP/1.1\r\n" + headers + b"\r\n" + body if body else get(b"/h", headers=headers),
        reject((400,)), RFC_HOST)
add("host-duplicate-http10", "host", "two Host fields in an HTTP/1.0 request",
    get(b"/h", headers=HOST + b"Host: evil.example\r\n", version=b"HTTP/1.0"), reject((400,)),
    RFC_HOST + " — 'any request message'")
add("host-empty", "host", "an empty Host field",
    get(b"/h", headers=b"Host:\r\n"),
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/h"}]}),
    "RFC 9112 §3.2 (an empty Host is sent when the target URI has no authority)")
add("host-empty-port", "host", "Host: localhost: (empty port)",
    get(b"/h", headers=b"Host: localhost:\r\n"),
    reject_or_forward([400], {"forwarded": 1, "backend": [{"target": "/h"}]}),
    "RFC 3986 §3.2.3 (port = *DIGIT, may be empty)")
for name, value in [("upper", b"LOCALHOST"), ("ipv6-port", b"[::1]:8080"), ("trailing-dot", b"localhost."),
                    ("trailing-ws", b"localhost \t")]:
    add("host-valid-" + name, "host", "control: Host %s is forwarded" % name.replace("-", " "),
        get(b"/h", headers=b"Host: " + value + b"\r\n"), forward(backend=[{"target": "/h"}]), RFC_HOST)

# ---------------------------------------------------------------------------------------------
# 9. Limits: long lines, big heads, many fields.
# ---------------------------------------------------------------------------------------------
add("limit-target-20000", "limits", "a 20000-byte request-target",
    get(b"/" + b"a" * 20000), reject((414,)), RFC_LIMITS)
add("limit-target-100k", "limits", "a 100 KiB request-target",
    get(b"/" + b"a" * 102400), reject((414,)), RFC_LIMITS)
add("limit-target-15000", "limits", "control: a 15000-byte request-target fits",
    get(b"/" + b"a" * 15000), forward(backend=[{"method": "GET"}]), RFC_LIMITS)
add("limit-header-value-20000", "limits", "one header value of 20000 bytes",
    get(b"/l", headers=HOST + b"X-Big: " + b"v" * 20000 + b"\r\n"), reject((431,)), RFC_LIMITS)
add("limit-header-name-20000", "limits", "one header name of 20000 bytes",
    get(b"/l", headers=HOST + b"X" * 20000 + b": v\r\n"), reject((431,)), RFC_LIMITS)
add("limit-head-20000-in-100-fields", "limits", "100 fields of 200 bytes (20 KB head)",
    get(b"/l", headers=HOST + b"".join(b"X-F%03d: " % i + b"v" * 190 + b"\r\n" for i in range(100))),
    reject((431,)), RFC_LIMITS)
add("limit-head-1mib", "limits", "a 1 MiB head",
    get(b"/l", headers=HOST + b"".join(b"X-F%05d: " % i + b"v" * 1000 + b"\r\n" for i in range(1024))),
    reject((431,)), RFC_LIMITS)
add("limit-fields-129", "limits", "129 header fields",
    get(b"/l", headers=HOST + b"".join(b"X-F%d: v\r\n" % i for i in range(128))), reject((431,)), RFC_LIMITS)
add("limit-fields-1000", "limits", "1000 tiny header fields",
    get(b"/l", headers=HOST + b"X: y\r\n" * 1000), reject((431,)), RFC_LIMITS)
add("limit-fields-128", "limits", "control: 128 header fields are forwarded",
    get(b"/l", headers=HOST + b"".join(b"X-F%d: v\r\n" % i for i in range(127))),
    forward(backend=[{"target": "/l"}]), RFC_LIMITS)
add("limit-method-20000", "limits", "a 20000-byte method",
    b"A" * 20000 + b" / HTTP/1.1\r\n" + HOST + b"\r\n", reject((400, 414, 431, 501)), RFC_LIMITS)
add("limit-version-line-20000", "limits", "20000 bytes of spaces before the version",
    b"GET /" + b" " * 20000 + b"HTTP/1.1\r\n" + HOST + b"\r\n", reject((400, 414, 431)), RFC_LIMITS)
add("limit-many-leading-crlf", "limits", "20000 empty lines before the request line",
    b"\r\n" * 10000 + get(b"/l"),
    reject_or_forward([400, 431], {"forwarded": 1, "backend": [{"target": "/l"}]}),
    "RFC 9112 §2.2 (at least one empty line SHOULD be ignored; not unlimited)")

# ---------------------------------------------------------------------------------------------
# 10. Pipelines, redirects and Expect.
# ---------------------------------------------------------------------------------------------
GOOD = get(b"/first")
for name, bad, statuses in [
    ("clte", b"POST /c HTTP/1.1\r\n" + HOST + CL + b"Transfer-Encoding: chunked\r\n\r\n" + PROBE, [400]),
    ("obs-fold", b"GET /second HTTP/1.1\r\n" + HOST + b"X-A: a\r\n b\r\n\r\n", [400]),
    ("unknown-te", b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: xchunked\r\n\r\n" + BODY5, [400, 501]),
    ("missing-host", b"GET /second HTTP/1.1\r\n\r\n", [400]),
    ("bad-chunk", chunked_post(b"zz\r\nhello\r\n0\r\n\r\n"), [400]),
    ("version", get(b"/second", version=b"HTTP/2.0"), [505]),
    ("garbage", b"\x00\x01\x02\r\n\r\n", [400]),
]:
    add("pipeline-then-" + name, "pipeline", "a good request, then one with %s" % name.replace("-", " "),
        GOOD + bad, then_reject(1, [[200], statuses], forbid="/smuggled", backend=[{"target": "/first"}]),
        "RFC 9112 §9.3; " + RFC_FRAMING)
add("pipeline-connection-close", "pipeline", "Connection: close, then a pipelined request",
    get(b"/first", headers=HOST + b"Connection: close\r\n") + SMUGGLED,
    forward(1, close=True, backend=[{"target": "/first"}], forbid="/smuggled"),
    "RFC 9112 §9.6 (nothing after a request with close is processed)")
add("pipeline-upgrade-refused", "pipeline", "an Upgrade the backend does not accept, then a pipelined request",
    get(b"/first", headers=HOST + b"Connection: Upgrade\r\nUpgrade: websocket\r\n") + SMUGGLED,
    {"outcome": "forward", "forwarded": 1, "responses": [[200]], "close": None,
     "forbid_backend_target": "/smuggled", "backend": [{"target": "/first"}]},
    "RFC 9110 §7.8", "the bytes after an Upgrade request are either the next protocol or nothing: never a request")

REDIRECT_CHUNKED = b"POST /__redirect/x HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
add("redirect-then-bad-chunk", "redirect", "a redirected POST whose chunked body is malformed",
    REDIRECT_CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", respond([[307]], close=True),
    "contract §5 (a redirect is decided on the head), RFC 9112 §6.3")
add("redirect-then-bad-chunk-later", "redirect", "redirect answered, then the malformed chunk arrives",
    steps=[send(REDIRECT_CHUNKED + b"5\r\nhello\r\n"), {"expect_final": [307]}, send(b"zz\r\n")],
    expect=respond([[307]], close=True), rfc="contract §5")
add("redirect-smuggled-in-cl-body", "redirect", "a redirected POST whose body looks like a request",
    b"POST /__redirect/x HTTP/1.1\r\n" + HOST + b"Content-Length: 45\r\n\r\n" + SMUGGLED,
    respond([[307]], forbid="/smuggled"), "contract §5 (the body is discarded, never parsed as a request)")
add("redirect-smuggled-in-chunk", "redirect", "a redirected chunked POST carrying a request in its chunk data",
    REDIRECT_CHUNKED + chunk(SMUGGLED) + b"0\r\n\r\n", respond([[307]], forbid="/smuggled"),
    "contract §5")
add("redirect-smuggled-after-last-chunk", "redirect", "a redirected chunked POST, last chunk without its final CRLF, then a request",
    REDIRECT_CHUNKED + b"0\r\n" + SMUGGLED, respond([[307]], close=True, forbid="/smuggled"),
    "RFC 9112 §7.1")
add("redirect-expect-100-clte", "redirect", "Expect: 100-continue with CL and TE on a redirect path",
    b"POST /__redirect/x HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    reject((400,), forbid_interim=True), RFC_CLTE)
add("redirect-unknown-te", "redirect", "an unknown transfer coding on a redirect path",
    b"POST /__redirect/x HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: xchunked\r\n\r\n" + BODY5,
    reject((400, 501)), RFC_TE_UNKNOWN)
add("redirect-expect-100", "redirect", "control: Expect: 100-continue on a redirect gets no 100",
    b"POST /__redirect/x HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    respond([[307]], forbid_interim=True), "contract §5")
add("expect-100-missing-host", "expect", "Expect: 100-continue without Host: 400 and no 100",
    b"POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    reject((400,), forbid_interim=True), RFC_HOST)
add("expect-100-unknown-te", "expect", "Expect: 100-continue with an unknown coding: no 100",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\nTransfer-Encoding: xchunked\r\n\r\n",
    reject((400, 501), forbid_interim=True), RFC_TE_UNKNOWN)
add("expect-100-bad-cl", "expect", "Expect: 100-continue with an invalid Content-Length: no 100",
    b"POST /c HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\nContent-Length: 5x\r\n\r\n",
    reject((400,), forbid_interim=True), RFC_CL)


# ---------------------------------------------------------------------------------------------
# 11. llhttp's strict-mode reject cases that lack a Host: detour answers 400 for the missing
#     Host alone, which would hide whether it catches the actual defect. The same bytes with
#     "Host: localhost" added after an ordinary first line must still be refused.
# ---------------------------------------------------------------------------------------------
def llhttp_with_host():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "llhttp-strict-requests.jsonl")
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            exp = rec["expect"]
            if exp["outcome"] != "reject":
                continue
            raw = base64.b64decode(rec["raw_b64"])
            if b"host:" in raw.lower():
                continue
            eol = raw.find(b"\r\n")
            first = raw[:eol] if eol >= 0 else raw
            if eol < 0 or b"\r" in first or b"\n" in first or not first.endswith(b" HTTP/1.1"):
                continue
            e = {"outcome": "reject", "forwarded_max": exp["forwarded_max"],
                 "note": "as the llhttp corpus: at most forwarded_max requests forwarded, then an error status or a close"}
            add("llhttp-with-host-" + rec["id"][len("llhttp-"):], "llhttp-with-host",
                rec["title"] + " (with Host)", raw[:eol + 2] + HOST + raw[eol + 2:], e,
                "see the source case", "derived from %s with Host added" % rec["id"])


llhttp_with_host()


def main():
    ids = [c["id"] for c in cases]
    dups = {i for i in ids if ids.count(i) > 1}
    if dups:
        sys.exit("duplicate ids: %s" % sorted(dups))
    text = "".join(json.dumps(c, ensure_ascii=True) + "\n" for c in cases)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_requests.jsonl")
    if "--check" in sys.argv:
        with open(out, encoding="ascii") as f:
            if f.read() != text:
                sys.exit("bad_requests.jsonl is out of date: run gen_bad_requests.py")
        return
    with open(out, "w", encoding="ascii") as f:
        f.write(text)
    print("%d cases -> %s" % (len(cases), out))


if __name__ == "__main__":
    main()
