"""Sends the shop scenario (see README.md) with a real, unmodified Python client pointed at a
running `audex serve` through its documented `host` option.

Usage: AUDEX_URL=http://127.0.0.1:PORT AUDEX_WRITE_KEY=wk python send_python.py segment|rudder PREFIX

- segment: segment-analytics-python (`segment.analytics.Client`), plain JSON bodies by default.
- rudder:  rudder-sdk-python (`rudderstack.analytics.Client`), gzip bodies by default, no
  writeKey in the body (only Basic auth).
Both post to HOST/v1/batch from a consumer thread; `flush()` drains the queue.
"""

import os
import sys


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("segment", "rudder"):
        print(__doc__, file=sys.stderr)
        return 2
    which, prefix = sys.argv[1], sys.argv[2]
    host, write_key = os.environ["AUDEX_URL"], os.environ["AUDEX_WRITE_KEY"]
    if which == "segment":
        from segment.analytics import Client
    else:
        from rudderstack.analytics import Client

    errors = []

    def on_error(error, items):
        errors.append(error)

    # upload_size 4: the calls below leave as several batches; max_retries 2 keeps a failure short.
    client = Client(write_key, host=host, on_error=on_error, upload_size=4, max_retries=2)

    ann, bob = f"{prefix}-ann", f"{prefix}-bob"
    anon_web, anon_app = f"{prefix}-anon-web", f"{prefix}-anon-app"
    ifa = f"{prefix.upper()}-6D92078A-IFA"
    shoe = {"product_id": f"{prefix}-p-100", "sku": "SH-100", "category": "Shoes", "brand": "Acme",
            "price": 59.9, "currency": "EUR"}
    coat = {"product_id": f"{prefix}-p-200", "sku": "CO-200", "category": "Coats", "brand": "Acme",
            "price": 120, "currency": "EUR"}

    # Ann browses anonymously on the web and leaves a shoe in her cart.
    client.page(anonymous_id=anon_web, category="Landing", name="Home",
                properties={"url": "https://shop.example/", "path": "/", "title": "Home"})
    client.track(anonymous_id=anon_web, event="Product Viewed", properties=shoe)
    client.track(anonymous_id=anon_web, event="Product Added", properties={**shoe, "quantity": 1})
    # She signs in: identify with traits links the anonymous web id to her user id.
    client.identify(user_id=ann, anonymous_id=anon_web,
                    traits={"email": f"{prefix}-Ann@Example.com", "gender": "female", "age": 31,
                            "first_name": "Ann", "plan": "gold"})
    # She opens the app (another anonymous id, with an advertising id), then the app aliases it.
    client.screen(anonymous_id=anon_app, name="Product Detail",
                  properties={"product_id": coat["product_id"]},
                  context={"app": {"name": "Shop", "version": "1.2.0"},
                           "device": {"advertisingId": ifa, "type": "ios"}})
    client.alias(previous_id=anon_app, user_id=ann)
    client.group(user_id=ann, group_id=f"{prefix}-team", traits={"name": "Ann and co"})
    # Bob buys a coat.
    client.page(user_id=bob, name="Coats", properties={"url": "https://shop.example/coats"})
    client.track(user_id=bob, event="Product Viewed", properties=coat)
    client.track(user_id=bob, event="Product Added", properties={**coat, "quantity": 1})
    client.track(user_id=bob, event="Checkout Started",
                 properties={"order_id": f"{prefix}-o-1", "value": 120, "currency": "EUR",
                             "products": [coat]})
    client.track(user_id=bob, event="Order Completed",
                 properties={"order_id": f"{prefix}-o-1", "total": 120, "revenue": 120,
                             "currency": "EUR", "products": [{**coat, "quantity": 1}]})
    client.identify(user_id=bob, traits={"gender": "male", "birthday": "1980-05-17"})

    client.flush()
    if errors:
        print(f"{which}: delivery errors: {errors}", file=sys.stderr)
        return 1
    print(f"{which}: 14 calls delivered to {host}/v1/batch, no errors")

    # A refused event: the client must see a 400 it understands (code and message) and give up
    # at once instead of retrying.
    client.track(user_id=bob, event="Product Viewed", properties={**coat, "price": "cheap"})
    client.flush()
    client.join()
    codes = [(getattr(e, "status", None), getattr(e, "code", None)) for e in errors]
    if codes != [(400, "invalid_request")]:
        print(f"{which}: a refused event gave {errors!r}, expected one APIError 400 invalid_request",
              file=sys.stderr)
        return 1
    print(f"{which}: a refused event is reported as 400 invalid_request: {errors[0].message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
