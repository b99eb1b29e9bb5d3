#!/usr/bin/python3
"""Play systemd's side of sd_notify: bind the datagram socket named on the
command line ("@name" for the abstract namespace), write each message that
arrives to OUT as one line (its newlines shown as '|'), flushed at once."""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
with open(out, "w") as f:
    print("listening", file=f, flush=True)
    while True:
        msg = s.recv(4096).decode()
        print(msg.replace("\n", "|"), file=f, flush=True)
