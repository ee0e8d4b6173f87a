"""A local stand-in for the Hugging Face Hub's upload API, for tests without network.

It answers what :meth:`huggingface_hub.HfApi.create_repo` and :meth:`~huggingface_hub.HfApi.upload_folder` call
(``huggingface_hub`` 1.x/2.x, read from its ``hf_api.py`` and ``_commit_api.py``):

    POST /api/repos/create                          {"name", "organization", "visibility"} -> {"url"}
    POST /api/validate-yaml                         a README's metadata -> no errors
    POST /api/models/{repo}/preupload/{revision}    {"files": [{path, sample, size}]} -> every file "regular"
    POST /api/models/{repo}/commit/{revision}       ndjson: header, then {"key": "file", "value": {path, content
                                                    (base64)}} lines -> {"commitUrl", "commitOid"}

Answering "regular" for every file keeps LFS and Xet out. Every other request is answered 404 (a download then
falls back to the local cache). The files of each repository are written to ``root/<owner>/<name>/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeHub:
    """The server, on ``127.0.0.1`` at a free port; use as a context manager.

    Attributes:
        root: Where the repositories' files are written.
        url: The endpoint to give ``HfApi(endpoint=...)`` or ``HF_ENDPOINT``.
        repos: ``{repo_id: {"private": bool, "commits": [message, ...], "files": [paths of each commit]}}``.
        requests: ``(method, path)`` of every request, in order.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                hub.requests.append(("GET", self.path))
                self._answer(404, {"error": "not served by the fake hub"})

            def do_HEAD(self):
                hub.requests.append(("HEAD", self.path))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                hub.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.split("?")[0]
                if path == "/api/repos/create":
                    self._answer(*hub.create(json.loads(body)))
                elif path == "/api/validate-yaml":
                    self._answer(200, {"errors": [], "warnings": []})
                elif path.startswith("/api/models/") and "/preupload/" in path:
                    files = json.loads(body)["files"]
                    self._answer(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                                  "oid": None} for f in files]})  # fmt: skip
                elif path.startswith("/api/models/") and "/commit/" in path:
                    repo_id = path[len("/api/models/") :].split("/commit/")[0]
                    self._answer(*hub.commit(repo_id, body))
                else:
                    self._answer(404, {"error": "not served by the fake hub"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def create(self, payload: dict) -> tuple[int, dict]:
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}
        self.repos[repo_id] = {"private": payload.get("visibility") == "private", "commits": [], "files": []}
        return 200, {"url": f"{self.url}/{repo_id}"}

    def commit(self, repo_id: str, body: bytes) -> tuple[int, dict]:
        if repo_id not in self.repos:
            return 404, {"error": f"Repository {repo_id} not found"}
        folder = self.folder(repo_id)
        for line in body.splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                self.repos[repo_id]["commits"].append(value["summary"])
                self.repos[repo_id]["files"].append([])
            elif item["key"] == "file":
                self.repos[repo_id]["files"][-1].append(value["path"])
                target = folder / value["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(value["content"]))
            elif item["key"] == "deletedFile":
                (folder / value["path"]).unlink(missing_ok=True)
            else:
                return 400, {"error": f"the fake hub does not take {item['key']!r} operations"}
        oid = hashlib.sha1(body).hexdigest()
        return 200, {"commitUrl": f"{self.url}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}

    def folder(self, repo_id: str) -> Path:
        """Where the files of ``repo_id`` are."""
        return self.root / repo_id

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
