"""A slow SMTP server for the portal's crash tests: it answers each RCPT command only after a
pause, so that a test can kill the sending process in the middle of a conversation. Like a real
mail server, it keeps a message only when the whole conversation completes. Built on aiosmtpd.

Each RCPT command is logged as a line "rcpt ADDRESS" in LOG, and each accepted message is saved
as a numbered .eml file in DIR.

Usage: python3 slow_smtp_server.py PORT DIR LOG DELAY_SECONDS
"""

import asyncio
import itertools
import os
import sys
import time

from aiosmtpd.controller import Controller

port, directory, log, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
os.makedirs(directory, exist_ok=True)
counter = itertools.count(1)


class SlowHandler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with open(log, "a", encoding="utf-8") as file:
            file.write(f"rcpt {address}\n")
        await asyncio.sleep(delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(directory, f"{next(counter)}.eml")
        with open(path, "wb") as file:
            file.write(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


controller = Controller(SlowHandler(), hostname="127.0.0.1", port=int(port))
controller.start()
print(f"listening on 127.0.0.1:{port}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
