"""A small dataset hub on 127.0.0.1 for tests: the routes `datasets.load_dataset` and
`huggingface_hub` use to read a dataset repository at a revision.

Point ``HF_ENDPOINT`` at `HubServer.root` (before `huggingface_hub` is imported, so in a fresh
process). Repositories hold files per commit; a revision is a commit sha, or a branch or tag name
mapped to one. Routes:

- ``HEAD|GET /datasets/{repo}/resolve/{revision}/{path}``: a file, with ``X-Repo-Commit``;
- ``GET /api/datasets/{repo}/revision/{revision}``: the repository's info (sha, files);
- ``GET /api/datasets/{repo}/tree/{revision}[/{folder}]``: a folder listing.

Anything else is a 404, as the hub answers for files a repository lacks.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class HubServer:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, dict[str, bytes]]] = {}  # repo -> commit -> path -> bytes
        self.refs: dict[str, dict[str, str]] = {}  # repo -> branch or tag -> commit
        self.requests: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    def add(self, repo: str, commit: str, files: dict[str, bytes], *refs: str) -> None:
        """Commit `files` to `repo` as `commit` (40 hex digits); `refs` point at it."""
        self.repos.setdefault(repo, {})[commit] = files
        for ref in refs:
            self.refs.setdefault(repo, {})[ref] = commit

    @property
    def root(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def commit_of(self, repo: str, revision: str) -> str | None:
        commits = self.repos.get(repo, {})
        if revision in commits:
            return revision
        return self.refs.get(repo, {}).get(revision)

    def __enter__(self) -> HubServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                status, body, headers = server.answer(unquote(urlparse(self.path).path))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        parts = path.strip("/").split("/")
        missing = (404, b"{}", {"X-Error-Code": "EntryNotFound"})
        if parts[0] == "datasets" and len(parts) >= 6 and parts[3] == "resolve":
            repo, commit = "/".join(parts[1:3]), self.commit_of("/".join(parts[1:3]), parts[4])
            body = self.repos.get(repo, {}).get(commit or "", {}).get("/".join(parts[5:]))
            if commit is None or body is None:
                return missing
            etag = hashlib.sha1(body).hexdigest()
            headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"'}
            return 200, body, {**headers, "Content-Type": "application/octet-stream"}
        if parts[:2] == ["api", "datasets"] and len(parts) >= 6:
            repo, action = "/".join(parts[2:4]), parts[4]
            commit = self.commit_of(repo, parts[5])
            if commit is None:
                return 404, b"{}", {"X-Error-Code": "RevisionNotFound"}
            files = self.repos[repo][commit]
            if action == "revision":
                info = {"id": repo, "sha": commit, "siblings": [{"rfilename": f} for f in files]}
                return 200, json.dumps(info).encode(), {"Content-Type": "application/json"}
            if action == "tree":
                listing = _tree(files, "/".join(parts[6:]))
                return 200, json.dumps(listing).encode(), {"Content-Type": "application/json"}
        return missing


def _tree(files: dict[str, bytes], folder: str) -> list[dict[str, object]]:
    """The entries of `folder` (not recursive), as the hub's tree API lists them."""
    prefix = f"{folder}/" if folder else ""
    entries: dict[str, dict[str, object]] = {}
    for path, body in sorted(files.items()):
        if not path.startswith(prefix):
            continue
        head, sep, _ = path[len(prefix) :].partition("/")
        if sep:
            entries.setdefault(head, {"type": "directory", "path": prefix + head, "oid": "0" * 40})
        else:
            oid = hashlib.sha1(body).hexdigest()
            entries[head] = {"type": "file", "path": path, "size": len(body), "oid": oid}
    return list(entries.values())
