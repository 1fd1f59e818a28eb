#!/usr/bin/env python3
"""Prints N refresh tokens for the refresh-grant benchmark, one per line, and
the client's Basic credentials first. It registers a client as the admin,
signs a browser in through `serve --dev`'s fake GitHub, consents once, and
runs N authorization-code flows with PKCE, as a real application would.

    python3 bench/refresh_tokens.py http://127.0.0.1:19881 ADMIN_TOKEN 8 > pairs.txt
"""
import base64
import hashlib
import html.parser
import http.client
import json
import os
import sys
import urllib.parse

BASE, ADMIN, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])
HOST = urllib.parse.urlsplit(BASE).netloc
REDIRECT = "http://127.0.0.1/cb"
cookies = {}


def request(method, url, body=None, headers=None):
    parts = urllib.parse.urlsplit(url if url.startswith("http") else BASE + url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    headers = dict(headers or {})
    if cookies and parts.netloc == HOST:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    path = parts.path + ("?" + parts.query if parts.query else "")
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    for value in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return response.status, response.headers.get("Location"), data


class Fields(html.parser.HTMLParser):
    """The hidden fields of the consent form (not the header's sign-out form)."""

    def __init__(self):
        super().__init__()
        self.fields = []
        self.action = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden" and self.action == "/oauth/authorize":
            self.fields.append((attrs["name"], attrs.get("value", "")))


def main():
    status, _, body = request("POST", "/v1/oauth/clients", json.dumps(
        {"name": "bench-refresh", "redirectUris": [REDIRECT]}),
        {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    assert status == 200, body
    client = json.loads(body)
    basic = base64.b64encode(f"{client['clientId']}:{client['clientSecret']}".encode()).decode()
    print(basic)
    status, to_github, _ = request("GET", "/login?next=/")
    assert status == 303, status
    status, back, _ = request("GET", to_github)
    assert status == 303, status
    status, _, _ = request("GET", back)
    assert status == 303 and "latchkey_session_pages" in cookies, (status, cookies)
    for _ in range(COUNT):
        verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client["clientId"],
            "redirect_uri": REDIRECT, "scope": "account:read", "state": "s",
            "code_challenge": challenge, "code_challenge_method": "S256"})
        status, location, page = request("GET", f"/oauth/authorize?{query}")
        if status == 200:
            form = Fields()
            form.feed(page.decode())
            fields = form.fields + [("authorize", "yes"), ("decision", "submit")]
            status, location, _ = request(
                "POST", "/oauth/authorize", urllib.parse.urlencode(fields),
                {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303, status
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
        status, _, body = request("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": verifier}),
            {"Authorization": f"Basic {basic}",
             "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        print(json.loads(body)["refresh_token"])


if __name__ == "__main__":
    main()
