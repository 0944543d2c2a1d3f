"""Weight of the widget: gzipped bytes of the loader and of everything the chat iframe loads,
and the time from host page load to a visible launcher in Chromium (median of several runs).

    .venv/bin/python bench/weight.py [--url http://127.0.0.1:8000] [--runs 7]

Without --url it starts our app in demo mode under gunicorn (tests/harness.py). Writes
bench/results/weight.json and prints a table. Budgets: loader <= 3 KB gzipped,
chat iframe (HTML, JS, CSS, default language) <= 30 KB gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOADER_BUDGET = 3 * 1024
CHAT_BUDGET = 30 * 1024
ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')
IMPORT = re.compile(r"""^\s*import\b[^'"]*['"]([^'"]+)['"]""", re.M)


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def chat_assets(base: str) -> list[tuple[str, int, int]]:
    """(url, raw, gzipped) of the chat page and every script, module and stylesheet it loads.
    The default language's strings are part of the page (a JSON block), so counted with it."""
    seen: dict[str, bytes] = {}
    page = requests.get(base + "/chat?lang=en", timeout=10)
    page.raise_for_status()
    seen[base + "/chat?lang=en"] = page.content
    queue = [urljoin(base + "/chat", u) for u in ASSET.findall(page.text)]
    while queue:
        url = queue.pop(0)
        if url in seen or not url.startswith(base):
            continue
        body = requests.get(url, timeout=10)
        body.raise_for_status()
        seen[url] = body.content
        if url.endswith(".js"):
            queue += [urljoin(url, u) for u in IMPORT.findall(body.text)]
    return [(url[len(base) :], len(data), gz(data)) for url, data in seen.items()]


def launcher_times(base: str, runs: int) -> list[float]:
    """Milliseconds from navigation start to the launcher being visible, per run."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import ARGS, CHROMIUM

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            page.goto(base + "/", wait_until="commit")
            page.get_by_role("button", name="Chat").wait_for(state="visible")
            times.append(page.evaluate("performance.now()"))
            context.close()
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one in demo mode)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    server = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        from tests.harness import ServerProcess

        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        server = ServerProcess(None)
        base = server.url
    try:
        loader = requests.get(base + "/widget.js", timeout=10).content
        # The loader's second part: the panel, preview card and notifications, fetched by the
        # host page when the chat is first wanted (hover, focus, click, or a chat going on).
        panel = requests.get(base + "/static/widget-chat.js", timeout=10)
        panel.raise_for_status()
        opened = panel.content
        assets = chat_assets(base)
        times = launcher_times(base, args.runs) if args.runs > 0 else []
    finally:
        if server:
            server.stop()
    chat_gz = sum(a[2] for a in assets)
    result = {
        "loader": {"raw": len(loader), "gzip": gz(loader), "budget_gzip": LOADER_BUDGET},
        "loader_second_part": {"raw": len(opened), "gzip": gz(opened)},
        "chat": {
            "raw": sum(a[1] for a in assets),
            "gzip": chat_gz,
            "budget_gzip": CHAT_BUDGET,
            "files": [{"url": u, "raw": r, "gzip": g} for u, r, g in assets],
        },
        "launcher_visible_ms": {
            "median": round(statistics.median(times), 1) if times else None,
            "runs": [round(t, 1) for t in times],
        },
    }
    out = ROOT / "bench" / "results" / "weight.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'file':44} {'raw':>8} {'gzip':>8}")
    print(f"{'/widget.js (loader)':44} {len(loader):8} {gz(loader):8}   budget {LOADER_BUDGET}")
    print(f"{'/static/widget-chat.js (when wanted)':44} {len(opened):8} {gz(opened):8}")
    for url, raw, size in assets:
        print(f"{url:44} {raw:8} {size:8}")
    print(f"{'chat iframe total':44} {result['chat']['raw']:8} {chat_gz:8}   budget {CHAT_BUDGET}")
    print(f"{'opening the chat: loader second part + iframe':44} {'':8} {gz(opened) + chat_gz:8}")
    if times:
        print(
            f"launcher visible after page load: median {result['launcher_visible_ms']['median']} ms"
            f" over {len(times)} runs"
        )
    ok = gz(loader) <= LOADER_BUDGET and chat_gz <= CHAT_BUDGET
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
