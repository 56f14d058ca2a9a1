"""A real SMTP server for firebreak-notify's tests, built on aiosmtpd.

It listens on loopback in one of three modes: `plain`, `starttls` (the server requires STARTTLS before
MAIL) or `tls` (implicit TLS from the first byte). Once listening it prints one JSON line
`{"ready": true, "port": N}` to stdout, so a caller that asked for port 0 learns the port without
polling; then it prints one JSON line per accepted message with `mail_from`, `rcpt_tos`, `auth_login`,
the raw `content`, and its decoded `headers` (names lowercased) and plain-text `body`. It exits when
stdin closes, so a test that dies does not leave it behind.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, reject):
        self.reject = reject

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return self.reject
        login = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        # Decoded here too, so tests need no MIME parser of their own to read the subject and body.
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_login": login,
            "content": raw.decode("utf-8", "replace"),
            "headers": {name.lower(): str(value) for name, value in message.items()},
            "body": body.get_content() if body is not None else None,
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 2.0.0 OK queued as test-1"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # auth_data becomes session.auth_data, which handle_DATA reports as auth_login; handled=False
        # makes aiosmtpd itself answer a failure with 535.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["plain", "starttls", "tls"], required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", help="USER:PASSWORD that clients must authenticate with")
    parser.add_argument("--reject", help="reply to DATA with this line instead of accepting, e.g. '550 no'")
    args = parser.parse_args()
    # aiosmtpd warns about its own deprecated internals on every AUTH; only errors are of interest.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    context = None
    if args.mode != "plain":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)

    smtp_kwargs = {
        "hostname": "localhost",
        "enable_SMTPUTF8": True,
        # With implicit TLS aiosmtpd does not know the connection is encrypted, and plain mode
        # tests AUTH over loopback on purpose.
        "auth_require_tls": args.mode == "starttls",
    }
    if args.mode == "starttls":
        smtp_kwargs["tls_context"] = context
        smtp_kwargs["require_starttls"] = True
    if args.auth:
        user, _, password = args.auth.partition(":")
        smtp_kwargs["auth_required"] = True
        smtp_kwargs["authenticator"] = authenticator_for(user, password)

    loop = asyncio.get_running_loop()
    handler = Recorder(args.reject)
    server = await loop.create_server(
        lambda: SMTP(handler, loop=loop, **smtp_kwargs),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.mode == "tls" else None,
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"ready": True, "port": port}) + "\n")
    sys.stdout.flush()

    # Stop when the parent closes our stdin (or exits).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
