"""Open the report page of a small real bench in headless Chromium and check what a reader gets.

Runs `mmfuse bench task=segmentation,anticipation fusion=concat,rtf seed=1,10` with a test-time
noise on m1 (so the robustness figures exist) in a folder (a fresh temporary one unless --folder
names one; finished runs are skipped), opens its `leaderboards/index.html` in Debian's `chromium`
(headless, driven over the DevTools protocol through `--remote-debugging-pipe`, no extra package)
and checks, on the page as the browser built it:

- no console message of level error or warning, no uncaught exception, no log entry (failed
  loads and Content-Security-Policy refusals land there);
- no network request other than the page's own file: the DevTools Network domain sees every
  request the page makes, data: URIs included;
- every board's title, marks (`td.best`) on every board, the legend, the metric notes and an
  `<img>` per figure file, each decoded (naturalWidth > 0);
- a click on a column header sorts the measured rows; a link to a row's runs opens them;
- the check itself sees a request and a console error (a copy of the page with both added);
- the print stylesheet prints (Page.printToPDF; the PDF is kept in the bench folder as report.pdf).

Keeps a screenshot of the top of the page in bench/results/report.png and writes what it saw to
bench/results/report_in_browser.md.

    python bench/report_in_browser.py [--folder DIR]
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
BENCH = ["task=segmentation,anticipation", "fusion=concat,rtf", "seed=1,10",
         "corruption=none,noise", "corruption.modality=m1", "corruption.level=1.0"]
WIDTH, HEIGHT = 1400, 1900

# What the page holds, read in the browser after it built the page.
INSPECT = """(() => {
  const text = (el) => el.textContent.trim();
  return {
    title: document.title,
    boards: [...document.querySelectorAll("section.board")].map((s) => ({
      title: text(s.querySelector("h2")),
      rows: s.querySelectorAll("tbody.measured tr").length,
      reported: s.querySelectorAll("tbody.reported tr:not(.group)").length,
      best: s.querySelectorAll("td.best").length,
      tied: s.querySelectorAll("td.tied").length,
      significance: s.querySelector(".significance") ? text(s.querySelector(".significance")) : "",
      notes: s.querySelectorAll(".notes li").length,
      figures: [...s.querySelectorAll("figure img")].map((img) => ({alt: img.alt, width: img.naturalWidth})),
      runs: s.querySelectorAll("details.row").length,
    })),
    legend: text(document.querySelector(".legend")),
  };
})()"""

# Sort the first board by its first value column (best first), then follow the first row's link.
INTERACT = """(async () => {
  const table = document.querySelector("table.board");
  const header = table.querySelector("thead th[data-higher]");
  const column = header.cellIndex;
  const values = () => [...table.querySelectorAll("tbody.measured tr")].map((tr) => tr.cells[column].dataset.value);
  const before = values();
  header.click();
  const after = values();
  const link = table.querySelector("tbody.measured a");
  link.click();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const target = document.getElementById(link.getAttribute("href").slice(1));
  return {header: header.textContent, higher: header.dataset.higher, before, after,
          sort: header.getAttribute("aria-sort"), opened: target.open};
})()"""


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe: JSON messages, each ended by a NUL,
    written to its fd 3 and read from its fd 4."""

    def __init__(self, profile: Path) -> None:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            sys.exit("no chromium on PATH: apt-get install -y chromium")
        to_browser, self.commands = os.pipe()
        self.replies, from_browser = os.pipe()

        def fds() -> None:
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--disable-background-networking", "--disable-extensions", f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.next_id = 0

    def _read(self, timeout: float) -> dict[str, Any] | None:
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.replies], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.replies, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read(deadline - time.monotonic())
            if reply is None:
                break
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            event = self._read(deadline - time.monotonic())
            if event is None:
                raise TimeoutError(method)
            self.events.append(event)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def evaluate(browser: Browser, session: str, expression: str) -> Any:
    result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
    if "exceptionDetails" in result:
        raise RuntimeError(result["exceptionDetails"])
    return result["result"]["value"]


def look(page: Path, screenshot: Path, printed: Path) -> dict[str, Any]:
    """Open ``page`` in headless Chromium: what it holds, what it logged and requested, a screenshot
    (``screenshot``) and the page printed (``printed``, a PDF)."""
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(Path(profile))
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}, session)
            browser.events.clear()
            browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
            browser.wait_for("Page.loadEventFired")
            time.sleep(1)  # let late console messages or requests arrive
            evaluate(browser, session, "1")
            seen = evaluate(browser, session, INSPECT)
            shot = browser.send("Page.captureScreenshot", {"format": "png"}, session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            pdf = base64.b64decode(browser.send("Page.printToPDF", {"printBackground": False}, session, timeout=120)["data"])
            printed.write_bytes(pdf)
            interaction = evaluate(browser, session, INTERACT)
            events = list(browser.events)
        finally:
            browser.close()
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    console = [
        f"{e['params']['type']}: {' '.join(str(a.get('value', a.get('description', ''))) for a in e['params']['args'])}"
        for e in events if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning", "assert")
    ]
    console += [f"exception: {e['params']['exceptionDetails'].get('text')}" for e in events if e.get("method") == "Runtime.exceptionThrown"]
    console += [f"log {e['params']['entry']['level']}: {e['params']['entry']['text']}" for e in events if e.get("method") == "Log.entryAdded"]
    return {**seen, "requests": requests, "console": console, "interaction": interaction,
            "pdf_pages": len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)), "pdf_bytes": len(pdf)}


def canary(page: Path, folder: Path) -> bool:
    """Whether the check sees what it looks for: a copy of the page with an image from the network
    (a TEST-NET address) and a console error added must show both."""
    copy = folder / "canary.html"
    copy.write_text(page.read_text().replace(
        "<main>", '<main><img src="http://192.0.2.1/canary.png" alt=""><script>console.error("canary")</script>', 1))
    seen = look(copy, folder / "canary.png", folder / "canary.pdf")
    return any("canary" in line for line in seen["console"]) and "http://192.0.2.1/canary.png" in foreign(seen, copy)


def foreign(seen: dict[str, Any], page: Path) -> list[str]:
    """The requests the page made beyond its own file and its data: URIs."""
    return [url for url in seen["requests"] if url != page.resolve().as_uri() and not url.startswith("data:")]


def problems(seen: dict[str, Any], page: Path) -> list[str]:
    """What the browser saw that a reader should not, against the files beside the page: a board's
    Markdown table and the PNG figures."""
    found = [f"console: {line}" for line in seen["console"]]
    found += [f"request: {url}" for url in foreign(seen, page)]
    titles = [board["title"] for board in seen["boards"]]
    boards, figures = list(page.parent.glob("*.md")), list(page.parent.glob("*.png"))
    for board in seen["boards"]:
        if board["best"] == 0:
            found.append(f"{board['title']}: no marked cell")
        if board["notes"] == 0:
            found.append(f"{board['title']}: no metric notes")
        found += [f"{board['title']}: figure {f['alt']} not decoded" for f in board["figures"] if f["width"] == 0]
    if len(titles) != len(set(titles)) or len(titles) != len(boards):
        found.append(f"{len(boards)} boards beside the page, on it: {titles}")
    if sum(len(board["figures"]) for board in seen["boards"]) != len(figures):
        found.append(f"{len(figures)} PNG figures beside the page, {sum(len(b['figures']) for b in seen['boards'])} on it")
    interaction = seen["interaction"]
    numbers = [float(v) for v in interaction["after"] if v]
    expected = sorted(numbers, reverse=interaction["higher"] == "1")
    if numbers != expected or interaction["sort"] not in ("ascending", "descending"):
        found.append(f"sorting by {interaction['header']}: {interaction['after']}")
    if not interaction["opened"]:
        found.append("a row's link did not open its runs")
    if seen["pdf_bytes"] == 0:
        found.append("printing gave no PDF")
    return found


def rounded(values: list[str]) -> list[str]:
    return [f"{float(v):.1f}" if v else "–" for v in values]


def report(seen: dict[str, Any], found: list[str], bench: str, page: Path, caught: bool) -> str:
    lines = [
        "# The report page in a real browser",
        "",
        f"Produced by `python bench/report_in_browser.py` on {dt.date.today()}: `mmfuse bench {' '.join(BENCH)}` "
        f"({bench}), then `leaderboards/index.html` ({page.stat().st_size / 1024:.0f} KiB) opened in headless "
        f"{subprocess.run(['chromium', '--version'], capture_output=True, text=True).stdout.strip()} over the DevTools "
        "protocol (`--remote-debugging-pipe`), viewport "
        f"{WIDTH}×{HEIGHT}. Screenshot of the top of the page: [report.png](report.png).",
        "",
        f"- console errors / warnings, exceptions, log entries: **{len(seen['console'])}**"
        + "".join(f"\n  - {line}" for line in seen["console"]),
        f"- network requests other than the page itself: **{len(foreign(seen, page))}** "
        f"(requests seen: {len(seen['requests'])}, the page's own file and its data: figures)",
        f"- the same check on a copy of the page with a network image and a console error added caught both: {caught}",
        f"- legend: “{seen['legend']}”",
        "",
        "| board | measured rows | reported rows | bold (best) | underlined (tied) | figures (decoded) | rows with runs | significance line |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for board in seen["boards"]:
        decoded = sum(f["width"] > 0 for f in board["figures"])
        lines.append(
            f"| {board['title']} | {board['rows']} | {board['reported']} | {board['best']} | {board['tied']} | "
            f"{decoded}/{len(board['figures'])} | {board['runs']} | {board['significance'] or '–'} |"
        )
    interaction = seen["interaction"]
    lines += [
        "",
        f"- clicking the header {interaction['header']!r} of the first board sorted its measured rows "
        f"{interaction['sort']}: {rounded(interaction['before'])} → {rounded(interaction['after'])}",
        f"- clicking the first row's method opened its runs: {interaction['opened']}",
        f"- printed with the print stylesheet: {seen['pdf_pages']} page(s), {seen['pdf_bytes'] / 1024:.0f} KiB of PDF",
        "",
        "**Problems: none.**" if not found else "**Problems:**\n" + "\n".join(f"- {p}" for p in found),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="run the bench here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = (args.folder or Path(temporary)).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        bench = subprocess.run([sys.executable, "-m", "mmfuse.cli", "bench", *BENCH], cwd=folder, check=True,
                               stdout=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
        counts = next(line for line in bench.stdout.splitlines() if "run(s) finished" in line)
        page = folder / "leaderboards" / "index.html"
        RESULTS.mkdir(parents=True, exist_ok=True)
        seen = look(page, RESULTS / "report.png", folder / "report.pdf")
        found = problems(seen, page)
        caught = canary(page, folder)
        if not caught:
            found.append("the check missed the network image or the console error added to a copy of the page")
        (RESULTS / "report_in_browser.md").write_text(report(seen, found, f"{seconds:.0f} s: {counts.rstrip('.')}", page, caught))
    print((RESULTS / "report_in_browser.md").read_text())
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
