"""Time to a useful nearest list on 400 kbps down / 400 ms RTT (CDP), fresh context, median of 3.

Run as a script against a served tree (issue 12):
    .venv/bin/python tests/benchmarks/bench_slow_phone.py http://127.0.0.1:5002 [PATH]
"""

import statistics
import sys
import time

from playwright.sync_api import sync_playwright

base = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else "/?lon=101.78&lat=36.62&zoom=14"
times, wire = [], []
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    for _ in range(3):
        c = b.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            service_workers="block",
        )
        page = c.new_page()
        cdp = c.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 400,
                "downloadThroughput": 400_000 / 8,
                "uploadThroughput": 400_000 / 8,
            },
        )
        total = [0]
        cdp.on(
            "Network.loadingFinished",
            lambda e: total.__setitem__(0, total[0] + e["encodedDataLength"]),
        )
        t = time.monotonic()
        page.goto(base + path, wait_until="commit")
        page.wait_for_selector("#nearby-list li.nearby-item", timeout=60000)
        times.append(time.monotonic() - t)
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)
        wire.append(total[0])
        c.close()
    b.close()
print(
    f"{base}{path}: first nearest list at {statistics.median(times):.2f} s (median of 3: {[round(x, 2) for x in times]}), bytes on the wire {statistics.median(wire) / 1024:.1f} KB (tiles fail: no network)"
)
