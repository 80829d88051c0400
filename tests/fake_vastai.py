"""A local HTTP server speaking the slice of the Vast.ai REST API the vastai provider uses.

Offer search (POST /api/v0/bundles/), rent (PUT /api/v0/asks/<offer>/), list
(GET /api/v0/instances/) and destroy (DELETE /api/v0/instances/<id>/), with Bearer auth and
switches for the failures the provider must survive: a host that fails the rent, an account out
of credit, and a machine whose instance never leaves "loading".
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from tests.fakehttp import JsonHandler, serve


@dataclass
class VastState:
    api_key: str = "vast-test-key"
    offers: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[int, dict[str, Any]] = field(default_factory=dict)
    failing_offers: set[int] = field(default_factory=set)  # rent answers 500
    never_ready_machines: set[int] = field(default_factory=set)  # instance stays "loading"
    out_of_credit: bool = False
    next_id: int = 9000
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _match(offer: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, cond in query.items():
        if not isinstance(cond, dict) or key not in offer:
            continue
        value = offer[key]
        for op, want in cond.items():
            ops: dict[str, Callable[[Any, Any], bool]] = {
                "eq": lambda v, w: v == w,
                "gte": lambda v, w: v >= w,
                "lte": lambda v, w: v <= w,
                "in": lambda v, w: v in w,
            }
            ok = ops.get(op, lambda v, w: True)(value, want)
            if not ok:
                return False
    return True


class _Handler(JsonHandler):
    state: VastState

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.state.api_key}":
            self._send(401, {"success": False, "error": "auth_error", "msg": "Invalid API key"})
            return False
        return True

    def _route(self, method: str) -> None:
        st = self.state
        body = self._body() if method in ("POST", "PUT") else None
        with st.lock:
            st.requests.append((method, self.path, body))
        if not self._authorized():
            return
        path = self.path.split("?", 1)[0]
        with st.lock:
            if method == "POST" and path == "/api/v0/bundles/":
                assert body is not None
                offers = [o for o in st.offers if _match(o, body)]
                for key, direction in body.get("order", []):
                    offers.sort(key=itemgetter(key), reverse=direction == "desc")
                return self._send(200, {"offers": offers[: body.get("limit", 64)]})
            m = re.fullmatch(r"/api/v0/asks/(\d+)/", path)
            if method == "PUT" and m:
                assert body is not None
                offer_id = int(m.group(1))
                offer = next((o for o in st.offers if o["id"] == offer_id), None)
                if offer is None or offer.get("rented"):
                    return self._send(404, {"success": False, "error": "no_such_ask", "msg": "offer is gone"})
                if st.out_of_credit:
                    return self._send(
                        402, {"success": False, "error": "insufficient_credit", "msg": "Your balance is too low"}
                    )
                if offer_id in st.failing_offers:
                    return self._send(500, {"success": False, "error": "host_error", "msg": "host failed to start"})
                st.next_id += 1
                offer["rented"] = True
                st.instances[st.next_id] = {
                    "id": st.next_id,
                    "label": body.get("label"),
                    "machine_id": offer["machine_id"],
                    "gpu_name": offer["gpu_name"],
                    "dph_total": offer["dph_total"],
                    "actual_status": "loading",
                    "intended_status": "running",
                    "start_date": time.time(),
                    "image_uuid": body.get("image"),
                    "extra_env": body.get("env"),
                    "offer_id": offer_id,
                }
                return self._send(200, {"success": True, "new_contract": st.next_id})
            if method == "GET" and path == "/api/v0/instances/":
                for inst in st.instances.values():
                    if inst["actual_status"] == "loading" and inst["machine_id"] not in st.never_ready_machines:
                        inst["actual_status"] = "running"  # boots by the next look
                return self._send(200, {"instances": list(st.instances.values())})
            m = re.fullmatch(r"/api/v0/instances/(\d+)/", path)
            if method == "DELETE" and m:
                gone = st.instances.pop(int(m.group(1)), None)
                if gone is None:
                    return self._send(404, {"success": False, "error": "no_such_instance", "msg": "not found"})
                for o in st.offers:
                    if o["id"] == gone["offer_id"]:
                        o["rented"] = False
                return self._send(200, {"success": True})
        self._send(404, {"success": False, "error": "not_found", "msg": path})

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")


def default_offers() -> list[dict[str, Any]]:
    base = {"verified": True, "rentable": True, "rented": False, "num_gpus": 1}
    return [
        {**base, "id": 101, "machine_id": 11, "gpu_name": "RTX 4090", "gpu_ram": 24564, "dph_total": 0.35},
        {**base, "id": 102, "machine_id": 12, "gpu_name": "L4", "gpu_ram": 23034, "dph_total": 0.42},
        {**base, "id": 103, "machine_id": 13, "gpu_name": "Tesla T4", "gpu_ram": 15360, "dph_total": 0.15},
        {**base, "id": 104, "machine_id": 14, "gpu_name": "H100 SXM", "gpu_ram": 81559, "dph_total": 2.40},
        {**base, "id": 105, "machine_id": 15, "gpu_name": "A10", "gpu_ram": 23028, "dph_total": 0.55},
    ]


@contextmanager
def fake_vastai(state: VastState | None = None) -> Iterator[tuple[str, VastState]]:
    """Serve the fake on 127.0.0.1; yields (base_url, state)."""
    st = state or VastState(offers=default_offers())
    with serve(_Handler, st) as url:
        yield url, st
