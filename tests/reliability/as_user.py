"""Run one HTTP request over the daemon's Unix socket as another uid (the tests run as root). Standard
library only: it runs under the system python3, which any user may execute.

    python3 as_user.py SOCKET METHOD PATH [FILENAME] < body
prints `<status> <json body>` on one line, or `CONNECT <errno name>` when the socket refuses the user.
"""

from __future__ import annotations

import errno
import http.client
import socket
import sys
import uuid


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("maied", timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(self.unix_path)
        self.sock = sock


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def main() -> None:
    sock, method, path = sys.argv[1:4]
    conn = UnixConnection(sock)
    body, headers = None, {}
    if len(sys.argv) > 4:
        body, headers["Content-Type"] = multipart(sys.argv[4], sys.stdin.buffer.read())
    try:
        conn.request(method, path, body=body, headers=headers)
    except OSError as exc:
        print("CONNECT", errno.errorcode.get(exc.errno or 0, str(exc)))
        return
    response = conn.getresponse()
    print(response.status, response.read().decode())


if __name__ == "__main__":
    main()
