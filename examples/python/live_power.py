#!/usr/bin/env python3
"""Live power per meter from IoT Meter's event bus, and a request_status command.

Standard library only. Speaks the TCP event-bus bridge protocol (bridge.tcp.port, 7000 by
default): each frame is a 4-byte big-endian length followed by that many bytes of JSON
{type, address, headers, body, replyAddress}.

    python3 live_power.py --key "$IOT_API_KEY" --devices dc-meter-001,ac-meter-001
    python3 live_power.py --key "$OPERATOR_KEY" --devices dc-meter-001 --command dc-meter-001

--count N stops after N power readings; --tls (with --ca FILE, or --insecure for a test
certificate) when the bridge has bridge.tcp.tls on. Exit status 0 on success, 1 when the
bridge refused something (the reason is printed), 2 on bad arguments or no connection.
"""
import argparse
import json
import socket
import ssl
import struct
import sys
import uuid


def send_frame(sock, frame):
    data = json.dumps(frame).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def read_exactly(sock, n):
    chunks = []
    while n > 0:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("the bridge closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(sock):
    (length,) = struct.unpack(">I", read_exactly(sock, 4))
    return json.loads(read_exactly(sock, length).decode("utf-8"))


def power_w(measurements):
    """Active power of the newest sample time: V x I (x power factor on AC meters)."""
    by_ts = {}
    for m in measurements:
        by_ts.setdefault(m["ts"], {})[m["type"]] = m["value"]
    if not by_ts:
        return None, None
    ts = max(by_ts)
    values = by_ts[ts]
    for volts, amps in (("voltage_dc", "current_dc"), ("voltage_ac", "current_ac")):
        if volts in values and amps in values:
            return values[volts] * values[amps] * values.get("pf", 1.0), ts
    return None, ts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--key", default="", help="API key (viewer to watch, operator to send a command)")
    parser.add_argument("--devices", default="dc-meter-001,dc-meter-002,ac-meter-001")
    parser.add_argument("--count", type=int, default=0, help="stop after this many readings (0: run until stopped)")
    parser.add_argument("--command", metavar="DEVICE", help="send request_status to DEVICE first")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--ca", help="CA certificate (PEM) to trust with --tls")
    parser.add_argument("--insecure", action="store_true", help="with --tls: do not verify the certificate")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any frame")
    args = parser.parse_args()

    headers = {"api_key": args.key} if args.key else {}
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        if args.tls:
            context = ssl.create_default_context(cafile=args.ca)
            if args.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=args.host)
    except OSError as e:
        print(f"cannot connect to the bridge at {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2

    with sock:
        if args.command:
            reply_address = "py-" + uuid.uuid4().hex
            send_frame(sock, {"type": "send", "address": "iot.live.command.request", "replyAddress": reply_address,
                              "headers": headers, "body": {"device_id": args.command, "cmd": "request_status"}})
            while True:
                frame = read_frame(sock)
                if frame.get("address") == reply_address or frame.get("type") == "err":
                    break
            if frame.get("type") == "err":
                print(f"command refused: {frame.get('message')}", file=sys.stderr)
                return 1
            body = frame["body"]
            print(f"command {body['cmd']} to {body['device_id']}: {body['status']} (cmd_id {body['cmd_id']})", flush=True)

        for device in filter(None, args.devices.split(",")):
            send_frame(sock, {"type": "register", "address": "iot.live.telemetry." + device, "headers": headers})
        readings = 0
        while args.count == 0 or readings < args.count:
            frame = read_frame(sock)
            if frame.get("type") == "err":
                print(f"refused: {frame.get('message')}", file=sys.stderr)
                return 1
            if frame.get("type") != "message":
                continue
            body = frame["body"]
            watts, ts = power_w(body.get("measurements", []))
            if watts is None:
                continue
            print(f"{body['device_id']} {watts / 1000:.1f} kW at {ts} (seq {body.get('seq')})", flush=True)
            readings += 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except (ConnectionError, socket.timeout) as e:
        print(f"bridge connection ended: {e}", file=sys.stderr)
        sys.exit(1)
