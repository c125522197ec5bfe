"""Asserts through Audex's native API (admin credentials) that what an SDK sent for PREFIX shows
up in profiles and audiences. Standard library only.

Usage: AUDEX_URL=… AUDEX_CLIENT_ID=… AUDEX_CLIENT_SECRET=… python check.py setup|verify PREFIX

- setup:  saves the audience "PREFIX viewers" (product viewers, 30 days) before any event, so
          that verify sees real-time membership from streamed events.
- verify: checks Ann's and Bob's profiles (identifiers merged by identify and alias, activity per
          channel, demographics, orders and spend, traits), saves cart-abandoner, retargeting
          and buyer audiences, checks /v1/people/{id}/audiences for each person, and enriches an
          OpenRTB bid request by Ann's anonymous web id.
"""

import base64
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("AUDEX_URL", "")
AUTH = "Basic " + base64.b64encode(
    f"{os.environ.get('AUDEX_CLIENT_ID', '')}:{os.environ.get('AUDEX_CLIENT_SECRET', '')}".encode()
).decode()
FAILURES = []


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def check(cond, what, detail=None):
    if cond:
        print(f"  ok   {what}")
    else:
        print(f"  FAIL {what}" + (f": {detail}" if detail is not None else ""))
        FAILURES.append(what)


def get(path):
    status, body = call("GET", path)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body}")
    return body


def create(name, **definition):
    status, body = call("POST", "/v1/audiences", {"name": name, **definition})
    if status != 201:
        raise SystemExit(f"creating audience {name!r}: {status} {body}")
    return body["id"]


def activity(profile, kind, channel):
    """Events of a kind on a channel within the last 7 days."""
    return profile["activity_7_30_90_540_days"].get(kind, {}).get(channel, [0])[0]


def verify(prefix):
    ann, bob = f"{prefix}-ann", f"{prefix}-bob"
    anon_web, anon_app = f"{prefix}-anon-web", f"{prefix}-anon-app"
    ifa = f"{prefix.upper()}-6D92078A-IFA".lower()
    email_sha = hashlib.sha256(f"{prefix}-ann@example.com".encode()).hexdigest()

    print(f"profile of {ann}")
    p = get(f"/v1/people/{ann}")
    ids = {(i["type"], i["value"]) for i in p["identifiers"]}
    for kind, value in [("user_id", ann), ("anonymous_id", anon_web), ("anonymous_id", anon_app),
                        ("device_id", ifa), ("email_sha256", email_sha)]:
        check((kind, value) in ids, f"identifier {kind} {value}", sorted(ids))
    for ident in [anon_web, anon_app, ifa, f"{prefix}-Ann@Example.com", email_sha]:
        check(get(f"/v1/people/{ident}")["person"] == p["person"], f"{ident} finds the same person")
    check(activity(p, "visit", "web") == 1, "one web page view", p["activity_7_30_90_540_days"])
    check(activity(p, "visit", "app") == 1, "one app screen view", p["activity_7_30_90_540_days"])
    check(activity(p, "product_viewed", "web") == 1, "one product view")
    check(activity(p, "product_added", "web") == 1, "one add-to-cart")
    check(p["orders"] == 0, "no order", p["orders"])
    check(p["demographics"]["gender"] == "female" and p["demographics"]["age"] == 31,
          "identify traits: gender and age", p["demographics"])
    check(p["traits"].get("plan") == "gold", "identify traits kept", p["traits"])
    check("first_name" not in p["traits"] and "email" not in p["traits"],
          "names and contacts are not kept as traits", p["traits"])
    check(any(x["product_id"] == f"{prefix}-p-100" for x in p["recent_products"]),
          "the viewed product is in recent products", p["recent_products"])

    print(f"profile of {bob}")
    b = get(f"/v1/people/{bob}")
    check(b["orders"] == 1 and b["spend"] == 120, "one order of 120", (b["orders"], b["spend"]))
    check(activity(b, "checkout_started", "web") == 1, "checkout started")
    check(b["demographics"]["gender"] == "male", "gender from identify", b["demographics"])
    check(b["person"] != p["person"], "Bob is not Ann")

    print("audiences")
    viewers = next(a["id"] for a in get("/v1/audiences")["audiences"] if a["name"] == f"{prefix} viewers")
    cart = create(f"{prefix} cart abandoners", kind={"cartAbandoners": {"days": 30}})
    retarget = create(f"{prefix} visitors not buyers", kind={"retargeting": {
        "visitorsType": "NonBuyers", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 30}})
    buyers = create(f"{prefix} buyers", kind={"buyers": {"days": 30}})
    app_users = create(f"{prefix} app users", rule="visit on app within 30d")

    def member_of(ident):
        return {a["id"] for a in get(f"/v1/people/{ident}/audiences")["audiences"]}

    mine = {viewers, cart, retarget, buyers, app_users}
    a_in, b_in = member_of(anon_web) & mine, member_of(bob) & mine
    check(a_in == {viewers, cart, retarget, app_users}, "Ann: viewer (real time), cart abandoner, "
          "non-buying visitor, app user", a_in)
    check(b_in == {viewers, buyers}, "Bob: viewer (real time) and buyer only", b_in)
    check(member_of(ifa) & mine == a_in, "the advertising id gives Ann's audiences")

    print("OpenRTB enrichment by Ann's anonymous web id")
    status, enriched = call("POST", "/v1/openrtb/bid-request",
                            {"id": f"{prefix}-bid", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
                             "site": {"page": "https://news.example/"}, "user": {"buyeruid": anon_web}})
    ours = [d for d in (enriched or {}).get("user", {}).get("data", []) if d.get("name") == "audex"]
    segs = {s["id"] for d in ours if "segtax" not in d.get("ext", {}) for s in d["segment"]}
    check(status == 200 and a_in <= segs, "bid request carries Ann's audiences", (status, enriched))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("setup", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    step, prefix = sys.argv[1], sys.argv[2]
    if step == "setup":
        create(f"{prefix} viewers", kind={"productViewers": {"days": 30}})
        print(f"saved audience '{prefix} viewers'")
        return 0
    verify(prefix)
    if FAILURES:
        print(f"{prefix}: {len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{prefix}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
