"""A loopback HTTP server that imitates orq's router closely enough for the openai SDK and orq's
own SDK (deployments invoke and stream): JSON replies, SSE streams, and a scripted 500 before a
200. It records every body it received, and the path."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _completion(model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "{\"answer\": 42}"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _response(model: str) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": int(time.time()), "model": model, "status": "completed",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "{\"answer\": 42}", "annotations": []}]}],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}


def _deployment(model: str) -> dict[str, Any]:
    """A reply to orq's ``deployments.invoke`` (and each event of ``deployments.stream``)."""
    return {"id": "dep-1", "created": "2026-01-01T00:00:00Z", "object": "chat", "model": model, "provider": "openai",
            "is_final": True, "telemetry": {"trace_id": "t1", "span_id": "s1"},
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"type": "content", "role": "assistant", "content": "hi"}}]}


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # tests send tens of requests at once; the default backlog is 5
    daemon_threads = True


class Router:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.fail_next = 0
        router = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                router.received.append(body)
                router.headers.append({k.lower(): v for k, v in self.headers.items()})
                router.paths.append(self.path)
                if router.fail_next:
                    router.fail_next -= 1
                    self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                    return
                model = body.get("model", "m")
                if self.path.endswith("/deployments/invoke"):
                    self._send(200, _deployment(model))
                elif self.path.endswith("/deployments/stream"):
                    self._events([_deployment(model)] * 2)
                elif self.path.endswith("/embeddings"):
                    self._send(200, {"object": "list", "model": model, "usage": {"prompt_tokens": 1, "total_tokens": 1},
                                     "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}]})
                elif self.path.endswith("/responses"):
                    self._send(200, _response(model))
                elif self.path.endswith("/completions") and not self.path.endswith("/chat/completions"):
                    self._send(200, {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
                                     "choices": [{"index": 0, "text": "hi", "finish_reason": "stop", "logprobs": None}]})
                elif body.get("stream"):
                    self._stream(model)
                else:
                    self._send(200, _completion(model))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str) -> None:
                self._events([{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model,
                               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                              for text in ("Hel", "lo")])

            def _events(self, events: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server_url = f"http://127.0.0.1:{self.server.server_address[1]}"  # orq's SDK: Orq(server_url=...)
        self.url = f"{self.server_url}/v3/router"  # openai's base_url
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Router:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
