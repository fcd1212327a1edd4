"""An SMTP server for the portal's tests: STARTTLS required before AUTH, one fixed login, and
every accepted message saved as a file in a Maildir. Built on aiosmtpd.

Usage: python3 starttls_smtp_server.py PORT CERT KEY MAILDIR USER PASSWORD
"""

import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, maildir, user, password = sys.argv[1:7]


def authenticate(server, session, envelope, mechanism, auth_data):
    accepted = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=accepted)


for part in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(maildir, part), exist_ok=True)
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Mailbox(maildir),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    auth_require_tls=True,
    auth_required=True,
    authenticator=authenticate,
)
controller.start()
print(f"listening on 127.0.0.1:{port}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
