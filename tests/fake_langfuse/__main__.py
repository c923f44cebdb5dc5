"""``python -m tests.fake_langfuse``: serve a fake Langfuse until killed.

The first stdout line is the base URL (``http://127.0.0.1:PORT``); drive the
server through its control API (``/_fake/...``, see `control`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Optional, Sequence

from .fake import FakeLangfuse
from .faults import Faults


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_langfuse", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral, the default)")
    parser.add_argument("--public-key", default="pk-lf-fake-public")
    parser.add_argument("--secret-key", default="sk-lf-fake-secret")
    parser.add_argument("--project-id", default="fake-project")
    parser.add_argument("--score-dialect", choices=("array", "object"), default="array",
                        help="array: SDK 5.x batches (202/207); object: the spec's single object (200 {id})")
    parser.add_argument("--seed-traces", type=int, default=0, metavar="N", help="generate N traces at start")
    parser.add_argument("--seed", type=int, default=0, help="seed of generated traces and of fault decisions")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 500/502/503")
    parser.add_argument("--rate-limit-every", type=int, default=0, metavar="N", help="every Nth request gets 429")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of a 429")
    parser.add_argument("--close-rate", type=float, default=0.0, help="fraction of connections cut mid-response")
    parser.add_argument("--close-before-write", action="store_true",
                        help="cut connections before processing (default: after, so the write lands)")
    parser.add_argument("--down", action="store_true", help="start in outage mode (every request 503)")
    parser.add_argument("--no-validate", action="store_true", help="skip spec validation (to measure its cost)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    faults = Faults(
        latency_ms=args.latency_ms, error_rate=args.error_rate, rate_limit_every=args.rate_limit_every,
        retry_after_s=args.retry_after, close_rate=args.close_rate,
        close_after_write=not args.close_before_write, down=args.down, seed=args.seed,
    )
    fake = FakeLangfuse(public_key=args.public_key, secret_key=args.secret_key, project_id=args.project_id,
                        score_dialect=args.score_dialect, faults=faults, validate=not args.no_validate,
                        port=args.port)
    if not args.no_validate:
        # Load the spec before announcing the URL, so the first request is not slow.
        fake.app.validator  # noqa: B018
    if args.seed_traces:
        fake.seed_traces(args.seed_traces, seed=args.seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with fake:
        print(fake.base_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
