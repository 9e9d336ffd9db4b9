"""Load a page in a real headless Chromium and report what a person would see: console errors, every request
the page made, what the rendered DOM holds, and a screenshot.

Chromium is driven through its DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages,
NUL-terminated, on file descriptors 3 and 4), so no port is opened. Its own background traffic (updates,
sign-in) cannot leave the machine: host names resolve to nothing and every connection goes to a closed
loopback port.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--no-default-browser-check", "--hide-scrollbars",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    console_errors: list = field(default_factory=list)  # console.error, uncaught exceptions, error log entries
    requests: list = field(default_factory=list)        # every URL the page requested (its own URL included)
    evaluated: object = None                            # the value of the script run after load
    screenshot: bytes = b""


class _Pipe:
    def __init__(self, proc, wfd, rfd):
        self.proc, self.w, self.r = proc, wfd, rfd
        self.buf = b""
        self.next_id = 0
        self.events: list = []

    def _read_message(self, deadline):
        import select

        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30.0):
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)


def load_page(url: str, script: str, width: int = 1100, timeout: float = 60.0) -> PageResult:
    """Open ``url``, wait for its load event, run ``script`` (an expression) in it and take a screenshot of
    the whole page."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium")
    profile = tempfile.mkdtemp(prefix="tinybnn-chromium-")
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()

    from tinybnn import plumbing

    parent, prctl = os.getpid(), plumbing._prctl()

    def setup():  # in the child: dies with the test (tinybnn's own child set-up), and the DevTools pipe on
        plumbing._child_setup(parent, prctl)  # fds 3 (commands) and 4 (replies), the only ones inherited
        a, b = os.dup(to_child_r), os.dup(from_child_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    proc = plumbing.spawn([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                           f"--window-size={width},1000", "about:blank"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          close_fds=False, preexec_fn=setup)
    os.close(to_child_r)
    os.close(from_child_w)
    pipe = _Pipe(proc, to_child_w, from_child_r)
    res = PageResult()
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        sess = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.call(f"{domain}.enable", session=sess)
        pipe.events.clear()
        pipe.call("Page.navigate", {"url": url}, session=sess)
        pipe.wait_event("Page.loadEventFired", timeout=timeout)
        time.sleep(0.5)  # anything the page would start after its load event
        res.evaluated = pipe.call("Runtime.evaluate", {"expression": script, "returnByValue": True},
                                  session=sess)["result"].get("value")
        metrics = pipe.call("Page.getLayoutMetrics", session=sess)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {"x": 0, "y": 0, "width": width,
                                                             "height": min(int(size["height"]) + 1, 16000),
                                                             "scale": 1}}, session=sess, timeout=timeout)
        res.screenshot = base64.b64decode(shot["data"])
        for m in pipe.events:
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Network.requestWillBeSent":
                res.requests.append(p["request"]["url"])
            elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                res.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif meth == "Runtime.exceptionThrown":
                res.console_errors.append(p["exceptionDetails"].get("text", "exception"))
            elif meth == "Log.entryAdded" and p["entry"].get("level") == "error":
                res.console_errors.append(p["entry"].get("text", ""))
        try:
            pipe.call("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - it may close the pipe before answering
            pass
    finally:
        os.close(to_child_w)
        os.close(from_child_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        plumbing.kill(proc)  # its whole process group: no renderer or GPU process is left behind
        shutil.rmtree(profile, ignore_errors=True)
    return res


def save(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
