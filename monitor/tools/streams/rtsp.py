"""A real RTSP server for camera streams: files served in a loop, in real time, like a hall's cameras.

The camera workers open rtsp:// URLs through FFmpeg; to test them for real they need a server that
speaks RTSP as a camera does: H.264 over RTP, over TCP, paced at the stream's frame rate, Basic
authentication, and failures a hall sees (the camera goes away, comes back, or hangs with its
connections open). `RtspServer` is GStreamer's gst-rtsp-server in a child process run by Debian's
system Python (the virtualenv's Python cannot import GStreamer's bindings): the child runs
`gst_rtsp_server.py`, shipped next to this module, and gets its settings as JSON on stdin.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

from monitor.adapters.mqtt.broker import free_port
from monitor.errors import InputError, MonitorError

SYSTEM_PYTHON = Path("/usr/bin/python3")
SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
)
UNAVAILABLE_EXIT = 3
"""The child's exit status when GStreamer's bindings or elements are missing (gst_rtsp_server.UNAVAILABLE)."""
START_TIMEOUT_S = 60.0
"""How long `start` waits for the server to answer: it first demuxes every file, which takes a while for long ones."""


class RtspServerError(MonitorError):
    """The RTSP server did not start (its stderr is in the message)."""


class RtspUnavailable(RtspServerError):
    """The system Python cannot run gst-rtsp-server: the Debian packages are not installed."""


def _unavailable(detail: str) -> RtspUnavailable:
    return RtspUnavailable(f"{detail}\nThe RTSP test server needs: apt-get install {PACKAGES}")


@functools.cache
def rtsp_server_available() -> bool:
    """Whether `RtspServer` can run here (the system Python imports gst-rtsp-server and has the elements)."""
    if not SYSTEM_PYTHON.exists():
        return False
    check = subprocess.run([str(SYSTEM_PYTHON), str(SCRIPT), "--check"], capture_output=True, timeout=60, check=False)
    return check.returncode == 0


def _answers_rtsp(port: int) -> bool:
    """Whether an RTSP server on the port answers an OPTIONS request (any status)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            conn.sendall(f"OPTIONS rtsp://127.0.0.1:{port}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            return conn.recv(64).startswith(b"RTSP/1.0 ")
    except OSError:
        return False


class RtspServer:
    """gst-rtsp-server on 127.0.0.1 serving each file of `mounts` (name -> H.264 MP4/MKV) in an endless loop.

    Each mount is paced in real time at the file's frame rate, as H.264 over RTP (UDP or TCP
    interleaved), one shared pipeline per mount whatever the number of clients; its timestamps keep
    increasing across the loop. With `user`, clients must authenticate (HTTP Basic) or get 401.

    `stop` and `start` (or `restart`) take the server away and back on the same port, as a camera
    that reboots; `stall` freezes it (SIGSTOP): connections stay open and nothing flows, as a camera
    that hangs, until `resume`. The child also exits when this process dies (its stdin closes).
    """

    def __init__(
        self,
        mounts: Mapping[str, Path],
        *,
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        if not mounts:
            raise InputError("an RTSP server needs at least one mount")
        if password is not None and user is None:
            raise InputError("an RTSP password needs a user")
        self.mounts = {name.strip("/"): Path(path).resolve() for name, path in mounts.items()}
        for name, path in self.mounts.items():
            if not name or not path.is_file():
                raise InputError(f"RTSP mount {name!r}: no such file {path}")
        self.port = port if port is not None else free_port()
        self.user = user
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._stalled = False

    def url(self, mount: str, *, with_credentials: bool = False) -> str:
        """The mount's URL, e.g. rtsp://127.0.0.1:8554/cam1; with the (percent-encoded) credentials if asked."""
        name = mount.strip("/")
        if name not in self.mounts:
            raise InputError(f"no RTSP mount {name!r} (mounts: {', '.join(self.mounts)})")
        userinfo = ""
        if with_credentials and self.user is not None:
            userinfo = quote(self.user, safe="") + ":" + quote(self.password or "", safe="") + "@"
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        """Start the server; return once it answers RTSP requests.

        Raises RtspUnavailable when the system Python lacks GStreamer's bindings or elements,
        RtspServerError when the child fails otherwise or does not answer in time.
        """
        if self._process is not None:
            raise RtspServerError(f"the RTSP server on port {self.port} is already started")
        if not SYSTEM_PYTHON.exists():
            raise _unavailable(f"{SYSTEM_PYTHON} does not exist")
        if _answers_rtsp(self.port):  # else the readiness probe below would take that server for ours
            raise RtspServerError(f"another RTSP server is listening on port {self.port}")
        settings = {
            "port": self.port,
            "mounts": {name: str(path) for name, path in self.mounts.items()},
            "user": self.user,
            "password": self.password,
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (open while the child runs; stop() closes it)
        self._process = subprocess.Popen(
            [str(SYSTEM_PYTHON), str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            # A process group of its own: should this process die while the child is stalled, the group is
            # orphaned, and the kernel sends it SIGHUP then SIGCONT, which ends it (a stopped child cannot see its
            # stdin close). Also, a Ctrl-C in the terminal goes to this process, which stops the server.
            process_group=0,
        )
        try:
            assert self._process.stdin is not None
            # The settings on stdin keep the password out of the process list; stdin then stays open as the
            # child's lifeline.
            self._process.stdin.write(json.dumps(settings).encode() + b"\n")
            self._process.stdin.flush()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers_rtsp(self.port):
            status = self._process.poll()
            if status is not None:
                detail = f"the RTSP server exited with status {status}: {self._stderr_text()}"
                raise _unavailable(detail) if status == UNAVAILABLE_EXIT else RtspServerError(detail)
            if time.monotonic() > deadline:
                raise RtspServerError(
                    f"the RTSP server did not answer on port {self.port} within {START_TIMEOUT_S:.0f} s:"
                    f" {self._stderr_text()}"
                )
            time.sleep(0.1)

    def _stderr_text(self) -> str:
        assert self._stderr is not None
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip() or "(no output)"

    def stop(self) -> None:
        """Terminate the server and wait for it to exit (its port is then free). Does nothing when not started."""
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            process.terminate()
            if self._stalled:
                process.send_signal(signal.SIGCONT)  # a stopped process acts on SIGTERM once continued
            with contextlib.suppress(BrokenPipeError):  # the child had already exited
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._stalled = False
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def restart(self) -> None:
        """Stop the server and start it again on the same port: clients must reconnect, and can."""
        self.stop()
        self.start()

    def stall(self) -> None:
        """Freeze the server (SIGSTOP): its connections stay open, it sends and answers nothing."""
        self._signal(signal.SIGSTOP)
        self._stalled = True

    def resume(self) -> None:
        """Undo `stall` (SIGCONT): the server answers again."""
        self._signal(signal.SIGCONT)
        self._stalled = False

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None:
            raise RtspServerError(f"the RTSP server on port {self.port} is not started")
        self._process.send_signal(signum)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
