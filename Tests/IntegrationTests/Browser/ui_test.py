#!/usr/bin/env python3
"""Drives nimbus's web UI in headless Chromium (Selenium, /usr/bin/chromedriver) for
Tests/IntegrationTests/WebUITests.swift.

Scenarios:
  cluster    a real cluster running the word-count fixture topology: the cluster page, the
             topology's DAG, its numbers against `gale status --json` read before and after the
             page's read, deactivate through the confirmation dialog, a component page, a worker's log.
  synthetic  a fake data source (this script's own HTTP server, which passes the page and its
             assets through from a real nimbus and answers /api/v1 itself, behind a token): a
             topology of 500 components (rendering time printed), refresh in place, windows,
             status tables, backpressure, a refused action (403), samples, paging and searching a log.

Every page is saved as a screenshot (--artifacts, printed). Any JavaScript error (a SEVERE browser
console entry that is not an expected HTTP refusal, or the page's own error notice) fails the run.
Prints `ui_test: ok (N checks)` and exits 0 when everything held; otherwise prints the failure
and exits 1.
"""
import argparse
import base64
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHECKS = []


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)
    CHECKS.append(what)
    print("PASS " + what, flush=True)


def wait_for(what, condition, timeout=30.0, interval=0.2):
    """Polls `condition` until it returns a true value (returned), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (WebDriverException, Failure, ValueError, KeyError) as e:
            last_error = e
        if time.monotonic() > deadline:
            raise Failure("timed out after %.0f s waiting until %s%s" % (
                timeout, what, " (last error: %s)" % last_error if last_error else ""))
        time.sleep(interval)


class Browser:
    def __init__(self, artifacts, allowed_network):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1600,1000", "--disable-extensions", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)
        self.artifacts = artifacts
        self.allowed_network = allowed_network

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        found = self.css(selector)
        if not found:
            raise Failure("no element matches %s" % selector)
        return found[0]

    def text(self, selector):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)

    def screenshot(self, name, top=True):
        """The page from its top (or where it is scrolled to), beyond the window, at most 4000 px tall."""
        path = os.path.join(self.artifacts, name + ".png")
        if top:
            self.js("window.scrollTo(0, 0)")
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        scrolled = self.js("return window.scrollY")
        clip = {"x": 0, "y": scrolled, "width": size["width"], "height": min(size["height"] - scrolled, 4000), "scale": 1}
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": clip})
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        print("screenshot: " + path, flush=True)

    def check_no_errors(self, page):
        """No SEVERE console entry but expected HTTP refusals, and no internal-error notice."""
        bad = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = entry["message"]
            if entry.get("source") == "network" and any(
                    re.search(r"status of %d\b" % code, message) for code in self.allowed_network):
                continue
            bad.append(message)
        check(not bad, "no JavaScript or console error on the %s page" % page + (": %s" % bad if bad else ""))
        notice = self.text("#notice") or ""
        hidden = self.js("return document.getElementById('notice').hidden")
        check(hidden or "Internal error" not in notice,
              "no internal error notice on the %s page (%s)" % (page, notice if not hidden else "none"))

    def fetched(self):
        """(started, fetched) of the last refresh, in ms since 1970 (browser clock)."""
        values = self.js("const d = document.getElementById('fetched').dataset;"
                         "return [Number(d.started || 0), Number(d.fetched || 0)];")
        return values[0], values[1]

    def wait_refresh_after(self, ms, what, timeout=30):
        """Waits for a refresh that started after `ms` (time.time() * 1000) and finished."""
        def done():
            started, fetched = self.fetched()
            return started > ms and fetched >= started
        wait_for(what, done, timeout)

    def click(self, selector):
        element = wait_for("%s is clickable" % selector,
                           lambda: next((e for e in self.css(selector) if e.is_displayed() and e.is_enabled()), None))
        # Clear of the sticky header.
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()


def number(text):
    text = (text or "").strip().replace(",", "")
    if text in ("", "–"):
        return None
    return float(text)


COUNTERS = ["emitted", "transferred", "executed", "acked", "failed"]


def component_rows(browser):
    """The components table as {id: {column title: text}} and the refresh it shows, read at once."""
    return browser.js("""
        const titles = Array.from(document.querySelectorAll('table.components thead th')).map((th) => th.textContent);
        const rows = {};
        for (const tr of document.querySelectorAll('table.components tbody tr')) {
          const cells = Array.from(tr.children).map((td) => td.textContent);
          const row = {};
          titles.forEach((t, i) => (row[t] = cells[i]));
          rows[tr.dataset.key] = row;
        }
        const d = document.getElementById('fetched').dataset;
        return { rows: rows, started: Number(d.started || 0), fetched: Number(d.fetched || 0) };
    """)


# ---------------------------------------------------------------------------------------------
# The real cluster


def run_cluster(args, browser):
    base = args.url.rstrip("/")

    def cli_status():
        command = [args.gale, "status", args.topology, "--json", "--nimbus", args.nimbus] + args.gale_arg
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise Failure("gale status failed: %s %s" % (result.stdout, result.stderr))
        return json.loads(result.stdout)

    browser.driver.get(base + "/")
    if args.token:
        # Nimbus has tokens: the page asks for one once, then keeps it for the tab.
        wait_for("the page asks for a token", lambda: not browser.js("return document.getElementById('login').hidden"))
        check("asks for a token" in browser.text("#login-why"), "nimbus's 401 makes the page ask for a token")
        browser.one("#token").send_keys(args.token)
        browser.click("#login-submit")
    # The cluster page lists the topology.
    wait_for("the cluster page lists %s as active" % args.topology, lambda: browser.js(
        "return Array.from(document.querySelectorAll('table.topologies tbody tr')).some((tr) =>"
        " tr.children[0].textContent === arguments[0] && tr.children[2].textContent === 'active')", args.topology))
    check(len(browser.css("table.supervisors tbody tr")) >= 1, "the cluster page lists the supervisors")
    check(any(tr.text.find("leader") >= 0 for tr in browser.css("table.nimbuses tbody tr")),
          "the cluster page names the leader nimbus")
    browser.screenshot("cluster")
    browser.check_no_errors("cluster")

    # The topology's DAG: three components and two edges, no ackers.
    browser.click("table.topologies tbody tr td a")
    wait_for("the topology page draws its three components",
             lambda: len(browser.css(".dag .node")) == 3, timeout=30)
    nodes = sorted(browser.js("return Array.from(document.querySelectorAll('.dag .node')).map((n) => n.dataset.id)"))
    check(nodes == ["count", "sentences", "split"], "the DAG's nodes are sentences, split and count (%s)" % nodes)
    wait_for("the DAG draws two edges", lambda: len(browser.css(".dag .edge")) == 2, timeout=30)
    edges = sorted(browser.js(
        "return Array.from(document.querySelectorAll('.dag .edge')).map((e) => e.dataset.from + '>' + e.dataset.to)"))
    check(edges == ["sentences>split", "split>count"], "the DAG's edges are sentences→split→count (%s)" % edges)

    # Its numbers against two reads of `gale status --json` around the page's read.
    browser.click("button[data-window='all']")
    wait_for("the spout has emitted", lambda: cli_status()["components"][0]["emitted"] > 0, timeout=60)
    before = cli_status()
    browser.wait_refresh_after(time.time() * 1000, "the page refreshes after the first CLI read")
    page = component_rows(browser)
    after = cli_status()
    by_id = lambda status: {c["id"]: c for c in status["components"]}
    lo, hi = by_id(before), by_id(after)
    titles = {"emitted": "Emitted", "transferred": "Transferred", "executed": "Executed", "acked": "Acked",
              "failed": "Failed"}
    compared = 0
    for component in ["sentences", "split", "count"]:
        row = page["rows"].get(component)
        check(row is not None, "the components table has a row for %s" % component)
        for counter in COUNTERS:
            shown = number(row[titles[counter]])
            low, high = lo[component][counter], hi[component][counter]
            check(shown is not None and low <= shown <= high,
                  "%s %s on the page (%s) is between gale status before (%d) and after (%d)" % (
                      component, counter, row[titles[counter]], low, high))
            compared += 1
        check(row["Tasks"] == str(hi[component]["tasks"]), "%s's tasks agree with gale status" % component)
    check(number(page["rows"]["sentences"]["Emitted"]) > 0, "the page shows the spout's tuples")
    browser.screenshot("topology")
    browser.check_no_errors("topology")

    # Deactivate, through the confirmation dialog.
    browser.click("#action-deactivate")
    wait_for("the confirmation dialog opens", lambda: browser.js("return document.getElementById('confirm').open"))
    browser.screenshot("deactivate-dialog")
    browser.click("#confirm-ok")
    wait_for("the page reports the deactivation",
             lambda: "inactive" in (browser.text("#action-result") or ""), timeout=30)
    wait_for("the page's status reads inactive", lambda: browser.text("#topology-status") == "inactive", timeout=30)
    check(cli_status()["status"] == "inactive", "gale status agrees the topology is inactive")
    browser.screenshot("topology-inactive")
    browser.check_no_errors("topology (after deactivating)")

    # A component page: split's input and output edges.
    browser.js("document.querySelector(\".dag .node[data-id='split'] a\").dispatchEvent("
               "new MouseEvent('click', {bubbles: true, cancelable: true}))")
    wait_for("split's page shows its input from sentences", lambda: browser.js(
        "return Array.from(document.querySelectorAll('table.inputs tbody tr td:first-child')).map((t) => t.textContent)"
        ".includes('sentences')"), timeout=30)
    check(browser.js("return Array.from(document.querySelectorAll('table.outputs tbody tr td:first-child'))"
                     ".map((t) => t.textContent).includes('count')"), "split's page shows its output to count")
    wait_for("split's page lists its tasks", lambda: len(browser.css("table.tasks tbody tr")) == 3)
    # Per stream: split's input from sentences (executed) and its output stream (emitted).
    stream_rows = lambda table: browser.js(
        "return Array.from(document.querySelectorAll('table.%s tbody tr')).map("
        "(tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent))" % table)
    inputs = wait_for("split's input streams show what it executed of sentences' stream", lambda: [
        r for r in stream_rows("input-streams") if r[:2] == ["sentences", "default"] and r[2] not in ("", "0")])
    check(len(inputs) == 1, "split has one input stream (%s)" % inputs)
    outputs = wait_for("split's output streams show what it emitted", lambda: [
        r for r in stream_rows("output-streams") if r[0] == "default" and r[1] not in ("", "0")])
    check(len(outputs) == 1, "split has one output stream (%s)" % outputs)
    state = wait_for("the sampling state is shown", lambda: browser.text("#sampling-state"))
    check("ampling" in state, "the component page says whether sampling is on (%s)" % state)
    browser.screenshot("component")
    browser.check_no_errors("component")

    # A worker's log.
    browser.driver.back()
    wait_for("the topology page is back", lambda: len(browser.css("table.workers tbody tr")) >= 1, timeout=30)
    worker = browser.js("return document.querySelector('table.workers tbody tr').dataset.key")
    browser.click("table.workers tbody tr td:last-child a")
    text = wait_for("the log of worker %s shows lines" % worker,
                    lambda: (browser.text("#log-text") or "").strip() or None, timeout=30)
    lines = [line for line in text.split("\n") if line.strip()]
    check(len(lines) >= 1, "the log page shows %d lines of worker %s's log" % (len(lines), worker))
    info = browser.text("#log-info")
    check("bytes" in info, "the log page says which bytes it shows (%s)" % info)
    # A plain word of the last line (no character a search could treat specially).
    needle = max(re.findall(r"[A-Za-z0-9_.-]{3,}", lines[-1]) or ["gale"], key=len)
    browser.one("#log-query").send_keys(needle)
    browser.click("#log-search")
    wait_for("searching the log finds %r" % needle, lambda: len(browser.css("#log-matches button")) >= 1, timeout=30)
    check(True, "the log search lists %d matches" % len(browser.css("#log-matches button")))
    browser.screenshot("worker-log")
    browser.check_no_errors("worker log")


# ---------------------------------------------------------------------------------------------
# The synthetic data source: 500 components behind a token

TOKEN = "synthetic-token-%d" % random.randrange(1 << 30)
WINDOW_FACTOR = {"600": 1, "10800": 18, "86400": 144}


class Synthetic:
    def __init__(self, components=500, seed=15):
        rng = random.Random(seed)
        self.started = time.time()
        self.ids = ["c%04d" % i for i in range(components)]
        self.spouts = 10
        self.edges = []
        for i in range(self.spouts, components):
            sources = {rng.randrange(max(0, i - 40), i)}
            if rng.random() < 0.3:
                sources.add(rng.randrange(0, i))
            for s in sorted(sources):
                self.edges.append((self.ids[s], self.ids[i], "alerts" if rng.random() < 0.1 else "default",
                                   "fields" if rng.random() < 0.5 else "shuffle"))
        self.overloaded = "c0042"
        self.sampled = "c0010"
        self.log_lines = ["2026-01-01T00:%02d:%02d info gale.worker synthetic line %d of the worker: %s\n" % (
            (n // 60) % 60, n % 60, n, "needle" if n % 997 == 0 else "x" * (n % 50)) for n in range(30000)]
        self.log = "".join(self.log_lines).encode()

    def rate(self, i):
        return 10.0 + i % 13

    def counts(self, i, seconds):
        r = self.rate(i)
        n = int(r * seconds)
        spout = i < self.spouts
        return {"emitted": n, "transferred": n * 2, "executed": 0 if spout else n, "acked": n if spout else n,
                "failed": (i % 7 == 0) * (n // 100), "completeLatencyMs": 4.5 if spout else 0,
                "executeLatencyMs": 0 if spout else 0.25 + (i % 5) / 10}

    def status(self):
        elapsed = 1000 + (time.time() - self.started) * 5
        components, windows, tasks = [], [], []
        for i, cid in enumerate(self.ids):
            c = self.counts(i, elapsed)
            kind = "spout" if i < self.spouts else "bolt"
            component = dict(c, id=cid, kind=kind, tasks=2, completeLatencyP99Ms=9.0, executeLatencyP99Ms=1.0,
                             capacity=(i % 20) / 19.0, pending=5 if kind == "spout" else 0, queued=i % 9,
                             maxQueueLength=40, queueCapacity=1024, recentErrors=[], errorCount=int(i % 11 == 0),
                             overloaded=cid == self.overloaded)
            if i == 3:
                component["tables"] = [{"name": "kafka-partitions", "columns": [
                    "task", "topic", "partition", "committed", "position", "highWatermark", "lag", "pending",
                    "oldestPending", "oldestPendingState", "retries", "paused", "notCommittingBecause",
                    "committedAgeSeconds"], "rows": [
                    [str(t), "input", str(p), "100", "150", "180", "30", "50", "100", "emitted", "0", "false",
                     "offset 100 is pending" if p == 1 else "", "1.5"] for t, p in ((7, 0), (8, 1))]}]
            if i == 5:
                component["details"] = ["task 11: coordinator epoch 2"]
                component["tables"] = [{"name": "transactional", "columns": [
                    "committedTxid", "openBatches", "commitP50Ms", "commitP99Ms", "replays", "lastFailure"],
                    "rows": [["42", "3", "12.5", "40.0", "1", ""]]}]
            components.append(component)
            r = self.rate(i)
            windows.append({"id": cid, "rates": {"emitted": r, "transferred": 2 * r, "executed": r, "acked": r,
                                                 "failed": 0.0},
                            "windows": dict({w: self.counts(i, 600 * f) for w, f in WINDOW_FACTOR.items()},
                                            all=c)})
            for k in range(2):
                task = 1 + 2 * i + k
                t = self.counts(i, elapsed / 2)
                tasks.append(dict(t, task=task, component=cid, host="127.0.0.1", port=7000 + task % 20,
                                  capacity=component["capacity"], pending=0, queued=0,
                                  overloaded=component["overloaded"] and k == 0))
        components.append(dict(self.counts(0, elapsed), id="__acker", kind="acker", tasks=2,
                               completeLatencyP99Ms=0, executeLatencyP99Ms=0, capacity=0.1, pending=0, queued=0,
                               maxQueueLength=0, queueCapacity=1024, recentErrors=[], errorCount=0))
        now = time.time()
        return {
            "id": "big-1", "name": "big", "status": "active", "epoch": 3, "requestedWorkers": 20,
            "binaryDigest": "0" * 64, "uptimeSeconds": now - self.started + 3600, "nimbusTime": now,
            "components": components, "windows": windows,
            "edges": [{"from": a, "to": b, "stream": s, "grouping": g, "transferred": int(100 * elapsed),
                       "perSecond": 10.0 + n % 7} for n, (a, b, s, g) in enumerate(self.edges)],
            "tasks": tasks,
            "workers": [{"supervisorId": "s%d" % (w % 3), "host": "127.0.0.1", "port": 7000 + w,
                         "tasks": [t["task"] for t in tasks if t["port"] == 7000 + w], "state": "running",
                         "pid": 1000 + w, "uptimeSeconds": 3600.0, "restarts": w % 2, "lastExit": None}
                        for w in range(20)],
            "recentErrors": [{"time": now - 60 + e, "component": self.ids[e * 7], "task": 1 + e * 14,
                              "host": "127.0.0.1", "port": 7000 + e % 20,
                              "message": "synthetic error %d: <script>alert(1)</script>" % e} for e in range(50)],
            "errors": ["s1: could not start worker 7019 (synthetic)"], "problems": [],
        }

    def cluster(self):
        return {"version": "synthetic", "nimbusTime": time.time(),
                "nimbuses": [{"identity": "127.0.0.1:1", "leader": True}, {"identity": "127.0.0.1:2", "leader": False}],
                "supervisors": [{"id": "s%d" % s, "host": "127.0.0.1", "slots": [7000 + w for w in range(s, 20, 3)],
                                 "usedSlots": [7000 + w for w in range(s, 20, 3)][:-1], "lastReportAgeSeconds": 1.5}
                                for s in range(3)],
                "topologies": [{"id": "big-1", "name": "big", "status": "active", "requestedWorkers": 20,
                                "assignedWorkers": 20, "runningWorkers": 20, "tasks": 1002, "epoch": 3,
                                "uptimeSeconds": 3600.0, "problems": []}]}

    def component(self, cid):
        status = self.status()
        component = next((c for c in status["components"] if c["id"] == cid), None)
        if component is None:
            return None
        return {"topology": "big", "nimbusTime": status["nimbusTime"], "component": component,
                "window": next((w for w in status["windows"] if w["id"] == cid), None),
                "tasks": [t for t in status["tasks"] if t["component"] == cid],
                "errors": [e for e in status["recentErrors"] if e["component"] == cid],
                "inputs": [e for e in status["edges"] if e["to"] == cid],
                "outputs": [e for e in status["edges"] if e["from"] == cid]}

    def samples(self, cid):
        controls = {"logLevels": [], "sampling": [{"component": self.sampled, "percent": 5.0, "until": None}]}
        samples = []
        if cid in (None, self.sampled):
            samples = [{"time": time.time() - s, "component": self.sampled, "task": 21, "stream": "default",
                        "values": "[\"word-%d\", %d]" % (s, s), "host": "127.0.0.1", "port": 7001} for s in range(5)]
        return {"controls": controls, "samples": samples}

    def log_chunk(self, worker, query):
        size = len(self.log)
        if "grep" in query:
            matches, offset = [], 0
            for line in self.log_lines:
                if query["grep"] in line and len(matches) < 1000:
                    matches.append({"offset": offset, "line": line.rstrip("\n")})
                offset += len(line.encode())
            return {"worker": worker, "file": "worker.log", "size": size, "offset": 0, "length": 0, "text": "",
                    "matches": matches}
        length = min(int(query.get("length", 65536)), 1 << 20)
        offset = int(query["offset"]) if "offset" in query else -length
        if offset < 0:
            offset = max(0, size + offset)
        offset = min(offset, size)
        piece = self.log[offset:offset + length]
        return {"worker": worker, "file": "worker.log", "size": size, "offset": offset, "length": len(piece),
                "text": piece.decode(errors="replace")}


def serve_synthetic(port, nimbus_url, data):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, content_type="application/json", headers=()):
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def proxy(self):
            request = urllib.request.Request(nimbus_url + self.path)
            if self.headers.get("if-none-match"):
                request.add_header("if-none-match", self.headers["if-none-match"])
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status, headers, body = answer.status, answer.headers, answer.read()
            except urllib.error.HTTPError as e:
                status, headers, body = e.code, e.headers, e.read()
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def api(self, method):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
            if self.headers.get("authorization") != "Bearer " + TOKEN:
                reason = "no credentials" if not self.headers.get("authorization") else "unknown token"
                return self.send(401, {"error": reason}, headers=[("www-authenticate", 'Bearer realm="gale"')])
            if method == "POST":
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                return self.send(403, {"error": "viewer (viewer) may not call POST %s: it needs admin, or the "
                                                "submitter that submitted the topology" % url.path})
            if parts == ["api", "v1", "cluster"]:
                return self.send(200, data.cluster())
            if parts[:4] == ["api", "v1", "topologies", "elsewhere"]:
                # As a follower answers: the leader's address.
                return self.send(409, {"error": "nimbus 127.0.0.1:1 is not the leader; the leader is 127.0.0.1:9",
                                       "leader": "127.0.0.1:9", "notLeader": True})
            if parts[:3] != ["api", "v1", "topologies"] or len(parts) < 4 or parts[3] not in ("big", "big-1"):
                return self.send(404, {"error": "unknown topology or endpoint %s" % url.path})
            rest = parts[4:]
            if not rest:
                return self.send(200, data.status())
            if rest[0] == "components" and len(rest) == 2:
                page = data.component(rest[1])
                return self.send(200, page) if page else self.send(404, {"error": "no component " + rest[1]})
            if rest == ["samples"]:
                return self.send(200, data.samples(query.get("component")))
            if rest[0] == "workers" and len(rest) == 3 and rest[2] == "log":
                return self.send(200, data.log_chunk(rest[1], query))
            return self.send(404, {"error": "no such endpoint %s" % url.path})

        def do_GET(self):
            if self.path.startswith("/api/"):
                return self.api("GET")
            return self.proxy()

        def do_POST(self):
            return self.api("POST")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def header_checks(nimbus_url):
    """The page and its assets: content types, CSP, nosniff, caching, 304, 404."""
    with urllib.request.urlopen(nimbus_url + "/", timeout=10) as page:
        headers, html = page.headers, page.read().decode()
    check(headers["content-type"].startswith("text/html"), "/ is text/html")
    csp = headers.get("content-security-policy") or ""
    check("default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp,
          "/ has a strict Content-Security-Policy (%s)" % csp)
    check(headers.get("x-content-type-options") == "nosniff", "/ has X-Content-Type-Options: nosniff")
    check(headers.get("cache-control") == "no-cache" and headers.get("etag"), "/ is revalidated (no-cache, ETag)")
    check("<script>" not in html and " style=" not in html, "the page has no inline script or style")
    assets = re.findall(r'(?:src|href)="(/ui/[^"]+)"', html)
    check(len(assets) >= 8, "the page names its assets with versions (%d)" % len(assets))
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    for asset in assets:
        with urllib.request.urlopen(nimbus_url + asset, timeout=10) as answer:
            kind = asset.split("?")[0].rsplit(".", 1)[1]
            check(answer.headers["content-type"].startswith(types[kind]) and
                  "immutable" in answer.headers["cache-control"] and
                  answer.headers.get("x-content-type-options") == "nosniff",
                  "%s is %s, immutable, nosniff" % (asset, types[kind]))
            etag = answer.headers["etag"]
    request = urllib.request.Request(nimbus_url + assets[-1], headers={"If-None-Match": etag})
    try:
        urllib.request.urlopen(request, timeout=10)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check(status == 304, "an asset asked for with its ETag is answered 304")
    unversioned = urllib.request.urlopen(nimbus_url + assets[-1].split("?")[0], timeout=10)
    check(unversioned.headers["cache-control"] == "no-cache", "an asset asked for without its version is revalidated")
    try:
        urllib.request.urlopen(nimbus_url + "/ui/nothing.js", timeout=10)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check(status == 404, "an unknown asset is 404")


def run_synthetic(args, browser):
    header_checks(args.url.rstrip("/"))
    data = Synthetic()
    server = serve_synthetic(args.fake_port, args.url.rstrip("/"), data)
    base = "http://127.0.0.1:%d" % args.fake_port
    try:
        # A token is asked for once, kept for the tab.
        browser.driver.get(base + "/")
        wait_for("the page asks for a token", lambda: not browser.js("return document.getElementById('login').hidden"))
        why = browser.text("#login-why")
        check("asks for a token" in why, "a 401 shows a clear message (%s)" % why)
        browser.screenshot("synthetic-token")
        browser.one("#token").send_keys("wrong")
        browser.click("#login-submit")
        wait_for("a wrong token is refused", lambda: "refused the token" in (browser.text("#login-why") or ""))
        browser.one("#token").send_keys(TOKEN)
        browser.click("#login-submit")
        wait_for("the cluster page shows the synthetic topology",
                 lambda: len(browser.css("table.topologies tbody tr")) == 1, timeout=30)
        check(browser.js("return sessionStorage.getItem('gale.token')") == TOKEN, "the token is kept in sessionStorage")
        check(len(browser.css("table.supervisors tbody tr")) == 3, "three supervisors are listed")
        browser.screenshot("synthetic-cluster")
        browser.check_no_errors("synthetic cluster")

        # 500 components: the DAG and the table.
        started = time.monotonic()
        browser.click("table.topologies tbody tr td a")
        wait_for("the DAG draws 500 components", lambda: len(browser.css(".dag .node")) == 500, timeout=60)
        wait_for("the table lists 501 components (ackers included)",
                 lambda: browser.js("return document.querySelectorAll('table.components tbody tr').length") == 501)
        first = time.monotonic() - started
        check(len(browser.css(".dag .edge")) == len(data.edges), "the DAG draws all %d edges" % len(data.edges))
        check(not browser.js("return Array.from(document.querySelectorAll('.dag .node')).some((n) =>"
                             " n.dataset.id === '__acker')"), "the DAG leaves the ackers out")
        # Refresh in place: the same row and node elements, new numbers.
        row = browser.one("table.components tbody tr[data-key='c0100']")
        node = browser.one(".dag .node[data-id='c0100']")
        before = row.text
        _, fetched = browser.fetched()
        wait_for("a refresh changes c0100's numbers", lambda: browser.fetched()[1] > fetched and row.text != before,
                 timeout=30)
        try:
            node.get_attribute("class")
            row.get_attribute("class")
            kept = True
        except StaleElementReferenceException:
            kept = False
        check(kept, "a refresh updates the rows and nodes in place (the same elements)")
        for _ in range(2):
            _, fetched = browser.fetched()
            wait_for("another refresh", lambda: browser.fetched()[1] > fetched, timeout=30)
        renders = browser.js("return performance.getEntriesByName('gale-render').map((e) => e.duration)")
        refreshes = browser.js("return performance.getEntriesByName('gale-refresh').map((e) => e.duration)")
        print("measured: 500 components: first render %.2f s from the click; page update %s ms "
              "(first, then refreshes); whole refresh with fetch %s ms" % (
                  first, [round(r) for r in renders], [round(r) for r in refreshes]), flush=True)
        check(len(renders) >= 3, "the page refreshed %d times" % len(renders))
        # Windows.
        browser.click("button[data-window='600']")
        cell = browser.js("return document.querySelector(\"table.components tbody tr[data-key='c0013']\")"
                          ".children[3].textContent")
        expected = "{:,}".format(data.counts(13, 600)["emitted"])
        check(cell == expected, "the 10 min window shows its own numbers (%s, expected %s)" % (cell, expected))
        browser.click("button[data-window='86400']")
        cell = browser.js("return document.querySelector(\"table.components tbody tr[data-key='c0013']\")"
                          ".children[3].textContent")
        check(cell == "{:,}".format(data.counts(13, 86400)["emitted"]), "the 1 day window shows its own numbers")
        browser.click("button[data-window='all']")
        # Backpressure, status tables, errors, tasks.
        banner = browser.text("#backpressure")
        check(data.overloaded in banner and browser.js("return !document.getElementById('backpressure').hidden"),
              "the backpressure banner names %s" % data.overloaded)
        check("overloaded" in browser.one(".dag .node[data-id='%s']" % data.overloaded).get_attribute("class"),
              "the overloaded node is marked in the DAG")
        check(len(browser.css(".status-table-block[data-table='kafka-partitions'] tbody tr")) == 2,
              "the Kafka partitions table shows its rows")
        check(len(browser.css(".status-table-block[data-table='kafka-partitions'] td.bad")) == 1,
              "a partition not committing is marked, with its reason")
        check(len(browser.css(".status-table-block[data-table='transactional'] tbody tr")) == 1,
              "the transactional coordinator's table is shown")
        check(len(browser.css("table.errors tbody tr")) == 50, "the 50 recent errors are listed")
        check(browser.js("return document.querySelectorAll('table.errors script').length") == 0,
              "error messages are text, not markup")
        check(len(browser.css("table.tasks tbody tr")) == 500, "the tasks table shows at most 500 of 1000 rows")
        browser.one("#task-filter").send_keys("c0007")
        wait_for("the task filter narrows to c0007's two tasks", lambda: len(browser.css("table.tasks tbody tr")) == 2)
        check(len(browser.css("table.workers tbody tr")) == 20, "the 20 workers are listed")
        browser.screenshot("synthetic-topology")
        browser.click("#dag-fit")
        browser.js("document.getElementById('graph').scrollIntoView()")
        browser.screenshot("synthetic-dag-fit", top=False)
        # A refused action.
        browser.click("#action-rebalance")
        wait_for("the rebalance dialog opens", lambda: browser.js("return document.getElementById('confirm').open"))
        check(browser.one("#confirm-workers").get_attribute("value") == "20", "the dialog offers the current workers")
        browser.click("#confirm-ok")
        result = wait_for("the refusal is shown", lambda: "Not allowed" in (browser.text("#action-result") or "")
                          and browser.text("#action-result"))
        check("needs admin" in result, "a 403 shows nimbus's reason (%s)" % result)
        browser.click("#action-deactivate")
        wait_for("the deactivate dialog opens", lambda: browser.js("return document.getElementById('confirm').open"))
        browser.click("#confirm-cancel")
        check(not browser.js("return document.getElementById('confirm').open"), "cancel closes the dialog")
        browser.check_no_errors("synthetic topology")

        # Component pages: samples on and off.
        browser.driver.get(base + "/#/topology/big/component/%s" % data.sampled)
        wait_for("the sampled component's samples", lambda: len(browser.css("table.samples tbody tr")) == 5)
        check("Sampling 5%" in browser.text("#sampling-state"), "the sampling state is shown")
        check(len(browser.css("table.windows-table tbody tr")) == 4, "the component's four windows are shown")
        inputs = [e for e in data.edges if e[1] == data.sampled]
        check(len(browser.css("table.inputs tbody tr")) == len(inputs), "the component's %d inputs are shown" % len(inputs))
        browser.screenshot("synthetic-component")
        browser.driver.get(base + "/#/topology/big/component/c0005")
        wait_for("c0005's page", lambda: "Sampling off" in (browser.text("#sampling-state") or ""))
        check("coordinator epoch" in (browser.text("#component-details") or ""), "the component's status lines show")
        check(len(browser.css(".status-table-block[data-table='transactional'] tbody tr")) == 1,
              "the component page shows its status table")
        browser.check_no_errors("synthetic component")

        # A follower's answer points to the leader's UI.
        browser.driver.get(base + "/#/topology/elsewhere")
        link = wait_for("the page links to the leader", lambda: browser.css("#notice a"))[0]
        check(link.get_attribute("href") == "http://127.0.0.1:9/#/topology/elsewhere",
              "a follower's 409 becomes a link to the same page on the leader (%s)" % link.get_attribute("href"))

        # The log: tail, older, newer, search.
        browser.driver.get(base + "/#/topology/big/worker/127.0.0.1%3A7001/log")
        wait_for("the log's tail", lambda: "synthetic line 29999" in (browser.text("#log-text") or ""))
        info = browser.text("#log-info")
        check("of {:,}".format(len(data.log)) in info, "the log page shows the size (%s)" % info)
        browser.click("#log-older")
        wait_for("an older page", lambda: "synthetic line 29999" not in (browser.text("#log-text") or ""))
        check(not browser.js("return document.getElementById('log-follow').checked"), "paging stops following")
        browser.click("#log-start")
        wait_for("the first page", lambda: "synthetic line 0 of" in (browser.text("#log-text") or ""))
        browser.click("#log-newer")
        wait_for("the next page", lambda: "synthetic line 0 of" not in (browser.text("#log-text") or ""))
        browser.one("#log-query").send_keys("needle")
        browser.click("#log-search")
        wait_for("the search results", lambda: len(browser.css("#log-matches button")) == 31)
        browser.css("#log-matches button")[20].click()
        wait_for("a match is shown highlighted",
                 lambda: "synthetic line %d of" % (20 * 997) in (browser.text("#log-text mark") or ""))
        browser.screenshot("synthetic-log")
        browser.check_no_errors("synthetic log")
    finally:
        server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=["cluster", "synthetic"], required=True)
    parser.add_argument("--url", required=True, help="nimbus's URL, e.g. http://127.0.0.1:7100")
    parser.add_argument("--artifacts", help="directory for screenshots (default $GALE_UI_ARTIFACTS or $TMPDIR)")
    parser.add_argument("--topology", help="cluster: the word-count topology's name")
    parser.add_argument("--gale", help="cluster: the gale CLI")
    parser.add_argument("--nimbus", help="cluster: --nimbus for the CLI")
    parser.add_argument("--gale-arg", action="append", default=[], help="cluster: one more CLI argument")
    parser.add_argument("--token", help="cluster: the token to give the page when nimbus asks for one")
    parser.add_argument("--fake-port", type=int, help="synthetic: the port of the fake data source")
    args = parser.parse_args()
    artifacts = args.artifacts or os.environ.get("GALE_UI_ARTIFACTS") or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "gale-ui-%d" % os.getpid())
    os.makedirs(artifacts, exist_ok=True)
    print("artifacts: " + artifacts, flush=True)
    # The refusals the scenarios provoke on purpose (Chromium logs each failed request).
    allowed = [401, 403, 409] if args.scenario == "synthetic" else [401] if args.token else []
    browser = Browser(artifacts, allowed)
    try:
        (run_cluster if args.scenario == "cluster" else run_synthetic)(args, browser)
    except Failure as e:
        try:
            browser.screenshot("failure")
            for entry in browser.driver.get_log("browser"):
                print("console: %s" % entry, flush=True)
        except WebDriverException:
            pass
        print("FAIL " + str(e), flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        print("FAIL unexpected error", flush=True)
        return 1
    finally:
        browser.quit()
    print("ui_test: ok (%d checks)" % len(CHECKS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
