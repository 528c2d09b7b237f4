"""Check a `snakemake --report` page in headless Chromium (.ci/check_report.sh runs it).

    python .ci/check_report.py REPORT.html RUN_DIR OUT_DIR [--chromium chromium]

The report is a JavaScript app: its entries (var results, var categories) are drawn only
when one is opened. This script
  1. reads the entries from the page and checks them against the run: every figure of
     results/figures/ in the page once (one entry per figure; a second format only as the
     entry's `format` toggle), every Markdown table of results/tables/ (and the
     reproduction report) as a web page, nothing download-only, a caption on each, and
     the workflow description;
  2. opens a copy of the page, with a few functions added at its end, in headless Chromium
     driven through the DevTools protocol (real time: see DevTools), opens every entry
     as a click does (the app's own setView) and records what the page then shows: an
     <img> with the entry's data URI that decodes to a size > 0, an <iframe> holding the
     page of a table, and that page's <table> rows;
  3. takes screenshots: the landing page (workflow description), Fig. 1 (or the first
     figure) and the benchmark's metric table, each with its category open;
and exits 1 naming every entry that did not render.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

SHOWN_MIMES = {"image/png", "image/svg+xml", "image/jpeg", "text/html", "application/pdf"}

# Added at the end of a copy of the report: functions the checker calls through the
# DevTools protocol. __simartCheck opens every entry through the app (as a click on its eye
# button does), waits until React has drawn it, and records what is drawn; __simartShow
# opens one entry with its category (for a screenshot) and waits for its image or page.
HARNESS = r"""
<script>
window.__simartDrawn = () => new Promise((r) => app.setState({}, r));
window.__simartOpen = async function (path) {
  const entry = results[path], mime = entry.mime_type;
  const view = mime.startsWith("image/") ? "img" : mime === "text/html" ? "html"
             : mime === "application/pdf" ? "pdf" : null;
  const rec = {name: entry.name, mime: mime, view: view, labels: entry.labels,
               caption: (entry.caption || "").length};
  if (!view) return rec;
  app.setView({content: view, contentPath: entry.data_uri, resultPath: path});
  await __simartDrawn();  // React calls it once the view is in the DOM
  if (view === "img") {
    const img = [...document.querySelectorAll("img")].find(
      (i) => i.getAttribute("src") === entry.data_uri);
    rec.shown = !!img;
    if (img) {
      try { await img.decode(); } catch (e) { rec.error = String(e); }
      rec.width = img.naturalWidth; rec.height = img.naturalHeight;
    }
  } else {
    const frame = [...document.querySelectorAll("iframe")].find(
      (f) => f.getAttribute("src") === entry.data_uri);
    rec.shown = !!frame;
    if (frame) {
      await new Promise((r) => { frame.addEventListener("load", r); setTimeout(r, 5000); });
    }
    if (view === "html") {
      const text = await (await fetch(entry.data_uri)).text();
      const doc = new DOMParser().parseFromString(text, "text/html");
      rec.tables = doc.querySelectorAll("table").length;
      rec.rows = doc.querySelectorAll("tbody tr").length;
      rec.text = doc.body ? doc.body.innerText.length : 0;
    }
  }
  return rec;
};
window.__simartCheck = async function () {
  const out = {app: !!window.app && document.querySelector("#app").children.length > 0,
               menu: document.querySelector("#app").innerText.slice(0, 4000),
               entries: {}};
  for (const path of Object.keys(results)) out.entries[path] = await __simartOpen(path);
  return JSON.stringify(out);
};
window.__simartShow = async function (path) {
  if (!path) { app.setView({content: "rulegraph"}); await __simartDrawn(); return true; }
  for (const [cat, subs] of Object.entries(categories)) {
    const sub = Object.keys(subs).find((s) => subs[s].includes(path));
    if (sub !== undefined) {  // the entry's list (with its toggle), as a reader finds it:
      app.setView({navbarMode: "menu"});  // from the menu (the list is drawn anew)
      await __simartDrawn();
      app.setView({navbarMode: "subcategory", category: cat, subcategory: sub});
      await __simartDrawn();
    }
  }
  return (await __simartOpen(path)).shown;
};
</script>
"""


class DevTools:
    """Headless Chromium driven through the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: commands on fd 3, answers on fd 4, NUL-terminated JSON):
    real time, so the checks wait for what the page really does (``--virtual-time-budget``
    fast-forwards past the decoding of images and the loading of pages)."""

    def __init__(self, chromium: str, log: Path, width: int = 1600, height: int = 1000):
        import os

        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: the pipe ends on fds 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._log = open(log, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, close_fds=False,
            preexec_fn=fds)  # noqa: PLW1509 (this process runs no threads)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=1, mobile=False)

    def _read(self, timeout: float) -> dict:
        import os
        import select

        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], timeout)
            if not ready:
                raise TimeoutError(f"Chromium sent nothing for {timeout:.0f} s")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, session: bool = False, timeout: float = 120, **params):
        import os

        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def open(self, url: str, timeout: float = 120) -> None:
        """Navigate and wait for the page's load event."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        t0 = time.monotonic()
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                raise TimeoutError(f"{url}: no load event in {timeout} s")
            self.events.append(self._read(left))

    def evaluate(self, expression: str, timeout: float = 300):
        r = self.call("Runtime.evaluate", session=True, timeout=timeout,
                      expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: Path, width: int = 1600, height: int = 1000) -> None:
        import base64

        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def page_var(html: str, name: str):
    """The JSON value of ``var name = ...;`` in the report's script of that id."""
    m = re.search(rf'<script id="{name}">\s*var \w+ = (.*?);\s*</script>', html, re.DOTALL)
    if not m:
        raise SystemExit(f"check_report: no `{name}` in the report page")
    return json.loads(m.group(1))


def expected(run: Path) -> tuple[set[str], set[str]]:
    """(figure file stems, table names) a report of this run must show: every PNG or SVG of
    results/figures/, every Markdown table of results/tables/ and the reproduction
    report."""
    r = run / "results"
    figures = {p.stem for ext in ("png", "svg") for p in (r / "figures").glob(f"*.{ext}")}
    tables = {p.stem for p in (r / "tables").glob("*.md")}
    if (r / "reproduction_report.md").is_file():
        tables.add("reproduction_report")
    return figures, tables


def static_problems(results: dict, categories: dict, desc: str, run: Path) -> list[str]:
    """What is wrong with the entries themselves (before any browser)."""
    problems = []
    figures, tables = expected(run)
    where = {p: (c, s) for c, subs in categories.items() for s, ps in subs.items() for p in ps}
    names = [e["name"] for e in results.values()]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{name}: in the report {names.count(name)} times")
    for path, e in results.items():
        if e["mime_type"] not in SHOWN_MIMES:
            problems.append(f"{path}: {e['mime_type']} is only a download in the report")
        if not e.get("caption"):
            problems.append(f"{path}: no caption")
    shown = {Path(p).stem for p, e in results.items() if e["mime_type"].startswith("image/")}
    pages = {Path(p).stem for p, e in results.items() if e["mime_type"] == "text/html"}
    problems += [f"figure {f}: not in the report" for f in sorted(figures - shown)]
    problems += [f"table {t}: no page in the report" for t in sorted(tables - pages)]
    # one entry per figure: formats beyond the first only as the `format` toggle
    by_sub: dict[tuple[str, str], list[dict]] = {}
    for path, e in results.items():
        if e["mime_type"].startswith("image/") or e["mime_type"] == "application/pdf":
            by_sub.setdefault(where.get(path, ("?", "?")), []).append(e)
    for (cat, sub), entries in by_sub.items():
        labels = [e.get("labels") or {} for e in entries]
        if not all("figure" in lab for lab in labels):
            problems.append(f"{cat} / {sub}: a figure without its `figure` label")
            continue
        if any("format" in lab for lab in labels):
            values = [str(lab.get("format")) for lab in labels]
            kinds = sorted(set(values))
            if "None" in kinds or len(kinds) != 2 \
                    or any(values.count(v) * 2 != len(values) for v in kinds):
                problems.append(f"{cat} / {sub}: `format` labels {values} do not make one "
                                "toggle (two values, each on half of the entries): a "
                                "figure shows twice")
            elif not kinds[0].startswith("image"):
                problems.append(f"{cat} / {sub}: the report would open on {kinds[0]}")
        else:
            figs = [lab["figure"] for lab in labels]
            if len(figs) != len(set(figs)):
                problems.append(f"{cat} / {sub}: a figure twice ({figs})")
    if "What ran" not in desc:
        problems.append("the workflow description (report/workflow.rst) is missing")
    return problems


def rendering_problems(rec: dict) -> list[str]:
    problems = []
    if not rec.get("app"):
        return ["the report app did not start in Chromium"]
    for path, e in rec["entries"].items():
        if e["view"] is None:
            continue
        if not e.get("shown"):
            problems.append(f"{path}: opening it shows nothing")
        elif e["view"] == "img" and not (e.get("width", 0) > 0 and e.get("height", 0) > 0):
            problems.append(f"{path}: the image does not decode ({e.get('error', 'size 0')})")
        elif e["view"] == "html" and not (e.get("tables", 0) > 0 and e.get("rows", 0) > 0):
            problems.append(f"{path}: the page has no table rows ({e.get('tables')} tables)")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report")
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--chromium", default="chromium")
    a = ap.parse_args()
    report, run, out = Path(a.report).resolve(), Path(a.run).resolve(), Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    html = report.read_text(encoding="utf-8")
    results, categories = page_var(html, "results"), page_var(html, "categories")
    desc = page_var(html, "workflow-desc")
    problems = static_problems(results, categories, desc, run)

    harness = out / "report_check.html"
    head, body_end, tail = html.rpartition("</body>")  # the page's own (its scripts
    harness.write_text(head + HARNESS + "\n" + body_end + tail,  # quote "</body>" too)
                       encoding="utf-8")
    t0 = time.perf_counter()
    browser = DevTools(a.chromium, out / "chromium.log")
    rec: dict = {"app": False, "entries": {}}
    figs: list[str] = []
    taken = []
    try:
        browser.open(harness.as_uri())
        browser.evaluate("new Promise((r) => { const f = () => (window.app && "
                         "document.querySelector('#app').children.length) ? r(true) "
                         ": setTimeout(f, 50); f(); })", timeout=60)
        rec = json.loads(browser.evaluate("__simartCheck()"))
        problems += rendering_problems(rec)
        figs = sorted(p for p, e in results.items() if e["mime_type"].startswith("image/"))
        fig1 = next((p for p in figs if Path(p).stem == "fig1_artifacts"),
                    figs[0] if figs else None)
        table = next((p for p in results if Path(p).stem == "simart_metrics"), None)
        for what, path in (("landing", None), ("figure", fig1), ("table", table)):
            if what != "landing" and path is None:
                continue
            browser.evaluate(f"__simartShow({json.dumps(path)})")
            png = out / f"report_{what}.png"
            # the landing page centres the workflow description: tall enough to show it
            browser.screenshot(png, height=1900 if what == "landing" else 1000)
            taken.append(png)
    except (RuntimeError, TimeoutError, OSError) as exc:
        problems.append(f"Chromium: {exc} (log: {out / 'chromium.log'})")
    finally:
        browser.close()
    (out / "report_check.json").write_text(json.dumps(rec, indent=1), encoding="utf-8")
    shown = sum(1 for e in rec["entries"].values() if e.get("shown"))
    print(f"report entries: {len(results)} ({len(figs)} images, "
          f"{sum(e['mime_type'] == 'text/html' for e in results.values())} table pages, "
          f"{sum(e['mime_type'] == 'application/pdf' for e in results.values())} PDFs "
          f"behind a toggle); rendered in Chromium: {shown}; "
          f"{time.perf_counter() - t0:.1f} s in Chromium")
    for png in taken:
        print(f"screenshot: {png}")
    if problems:
        print("report check FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("report check: every figure and table renders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
