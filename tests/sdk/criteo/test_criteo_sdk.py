#!/usr/bin/env python3
"""Drives a running `audex serve` with the official Criteo Marketing Solutions SDK
(criteo-api-marketingsolutions-sdk, unmodified) and checks every size it reports against the
native API (/v1/audiences/{id}/size and /v1/audiences/estimate-size) for the same audience.

Environment: CRITEO_HOST (no trailing slash), AUDEX_ADVERTISER_ID, AUDEX_CLIENT_ID,
AUDEX_CLIENT_SECRET; AUDEX_OTHER_CLIENT_ID / AUDEX_OTHER_CLIENT_SECRET (a second advertiser, for
tenancy checks); AUDEX_TRUTH (the simulator's truth.ndjson, for contact emails).
Run by .ci/sdk-criteo.sh.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from criteo_api_marketingsolutions_v2027_01 import ApiClientBuilder
from criteo_api_marketingsolutions_v2027_01.api.advertiser_api import AdvertiserApi
from criteo_api_marketingsolutions_v2027_01.api.audience_api import AudienceApi
from criteo_api_marketingsolutions_v2027_01.api.campaign_api import CampaignApi
from criteo_api_marketingsolutions_v2027_01.api.gateway_api import GatewayApi
from criteo_api_marketingsolutions_v2027_01.exceptions import (
    ApiException,
    ForbiddenException,
    NotFoundException,
)
from criteo_api_marketingsolutions_v2027_01.model.ad_set_audience_link_entity_v1 import AdSetAudienceLinkEntityV1
from criteo_api_marketingsolutions_v2027_01.model.ad_set_audience_link_entity_v1_resource import AdSetAudienceLinkEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.ad_set_audience_link_input_entity_v1 import AdSetAudienceLinkInputEntityV1
from criteo_api_marketingsolutions_v2027_01.model.algebra_node_v1 import AlgebraNodeV1
from criteo_api_marketingsolutions_v2027_01.model.audience_bulk_create_input_v1 import AudienceBulkCreateInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_bulk_delete_input_v1 import AudienceBulkDeleteInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_bulk_update_input_v1 import AudienceBulkUpdateInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_compute_size_entity_v1_resource import AudienceComputeSizeEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_compute_sizes_input_v1 import AudienceComputeSizesInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_create_entity_v1 import AudienceCreateEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_create_entity_v1_resource import AudienceCreateEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_delete_entity_v1_resource import AudienceDeleteEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_estimate_size_entity_v1 import AudienceEstimateSizeEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_estimate_size_entity_v1_resource import AudienceEstimateSizeEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_estimate_size_input_v1 import AudienceEstimateSizeInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_search_entity_v1 import AudienceSearchEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_search_entity_v1_resource import AudienceSearchEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_search_input_v1 import AudienceSearchInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_bulk_create_input_v1 import AudienceSegmentBulkCreateInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_bulk_delete_input_v1 import AudienceSegmentBulkDeleteInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_bulk_update_input_v1 import AudienceSegmentBulkUpdateInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_compute_size_entity_v1_resource import AudienceSegmentComputeSizeEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_compute_sizes_input_v1 import AudienceSegmentComputeSizesInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_create_entity_v1 import AudienceSegmentCreateEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_create_entity_v1_resource import AudienceSegmentCreateEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_delete_entity_v1_resource import AudienceSegmentDeleteEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_estimate_size_input_v1 import AudienceSegmentEstimateSizeInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_search_entity_v1 import AudienceSegmentSearchEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_search_entity_v1_resource import AudienceSegmentSearchEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_search_input_v1 import AudienceSegmentSearchInputV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_size_estimation_entity_v1 import AudienceSegmentSizeEstimationEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_size_estimation_entity_v1_resource import AudienceSegmentSizeEstimationEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_update_entity_v1 import AudienceSegmentUpdateEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_segment_update_entity_v1_resource import AudienceSegmentUpdateEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.audience_update_entity_v1 import AudienceUpdateEntityV1
from criteo_api_marketingsolutions_v2027_01.model.audience_update_entity_v1_resource import AudienceUpdateEntityV1Resource
from criteo_api_marketingsolutions_v2027_01.model.contactlist_amendment import ContactlistAmendment
from criteo_api_marketingsolutions_v2027_01.model.contactlist_amendment_attributes import ContactlistAmendmentAttributes
from criteo_api_marketingsolutions_v2027_01.model.contactlist_amendment_request import ContactlistAmendmentRequest
from criteo_api_marketingsolutions_v2027_01.model.in_market_create_v1 import InMarketCreateV1
from criteo_api_marketingsolutions_v2027_01.model.in_market_size_estimation_v1 import InMarketSizeEstimationV1
from criteo_api_marketingsolutions_v2027_01.model.location_create_v1 import LocationCreateV1
from criteo_api_marketingsolutions_v2027_01.model.location_size_estimation_v1 import LocationSizeEstimationV1
from criteo_api_marketingsolutions_v2027_01.model.lookalike_create_v1 import LookalikeCreateV1
from criteo_api_marketingsolutions_v2027_01.model.nillable_string import NillableString
from criteo_api_marketingsolutions_v2027_01.model.point_of_interest_v1 import PointOfInterestV1
from criteo_api_marketingsolutions_v2027_01.model.prospecting_create_v1 import ProspectingCreateV1
from criteo_api_marketingsolutions_v2027_01.model.retargeting_create_v1 import RetargetingCreateV1
from criteo_api_marketingsolutions_v2027_01.model.retargeting_update_v1 import RetargetingUpdateV1

HOST = os.environ["CRITEO_HOST"].rstrip("/")
ADV = os.environ["AUDEX_ADVERTISER_ID"]
CLIENT_ID = os.environ["AUDEX_CLIENT_ID"]
CLIENT_SECRET = os.environ["AUDEX_CLIENT_SECRET"]

CHECKS = 0


def check(cond, what):
    """Counts a passed check; fails loudly with `what` otherwise."""
    global CHECKS
    if not cond:
        raise AssertionError(what)
    CHECKS += 1


# ---------------------------------------------------------------- the native API, for comparison


def native_token():
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    ).encode()
    req = urllib.request.Request(HOST + "/oauth2/token", data=body, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req) as r:
        return json.load(r)["access_token"]


TOKEN = native_token()


def native(method, path, body=None):
    """(status, JSON) of a native API call."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(HOST + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def native_size(audience_id):
    """The native size of a saved audience; None when it cannot be computed (422: no model)."""
    status, v = native("GET", f"/v1/audiences/{audience_id}/size")
    if status == 422:
        return None
    check(status == 200, f"native size of {audience_id}: {status} {v}")
    return v["size"]


def native_estimate(body):
    status, v = native("POST", "/v1/audiences/estimate-size", body)
    if status == 422:
        return None
    check(status == 200, f"native estimate {body}: {status} {v}")
    return v["size"]


def to_rule_json(algebra):
    """A Criteo algebra (wire form) as the native rule JSON: leaves become in_audience."""
    if "audienceSegmentId" in algebra:
        return {"type": "in_audience", "audience": algebra["audienceSegmentId"]}
    if "not" in algebra:
        return {"not": to_rule_json(algebra["not"])}
    (op, items), = algebra.items()
    return {op: [to_rule_json(i) for i in items]}


# ---------------------------------------------------------------- the SDK

client = ApiClientBuilder.WithClientCredentials(CLIENT_ID, CLIENT_SECRET, host=HOST)
api = AudienceApi(client)


def seg(name, **kind):
    return AudienceSegmentCreateEntityV1Resource(
        type="AudienceSegment",
        attributes=AudienceSegmentCreateEntityV1(advertiser_id=ADV, name=name, **kind),
    )


def segment_sizes(ids):
    res = api.compute_audience_segments_sizes(
        AudienceSegmentComputeSizesInputV1(
            data=[AudienceSegmentComputeSizeEntityV1Resource(id=i, type="AudienceSegmentSize", attributes={}) for i in ids]
        )
    )
    return {r.id: r.attributes.size for r in res.data}


def audience_sizes(ids):
    res = api.compute_audiences_sizes(
        AudienceComputeSizesInputV1(
            data=[AudienceComputeSizeEntityV1Resource(id=i, type="AudienceSize", attributes={}) for i in ids]
        )
    )
    return {r.id: r.attributes.size for r in res.data}


def search_segments(page_size, **filters):
    """Every segment matching the filters, page by page; also returns the reported total."""
    out, offset, total = [], 0, None
    while True:
        res = api.search_audience_segments(
            AudienceSegmentSearchInputV1(
                data=AudienceSegmentSearchEntityV1Resource(
                    type="AudienceSegment", attributes=AudienceSegmentSearchEntityV1(**filters)
                )
            ),
            limit=page_size,
            offset=offset,
        )
        check(res.meta.limit == page_size and res.meta.offset == offset, f"meta {res.meta}")
        total = res.meta.total_items
        check(len(res.data) <= page_size, "page larger than limit")
        out.extend(res.data)
        offset += page_size
        if offset >= total:
            return out, total


def main():
    # Who am I: the advertiser id every audience call takes, and the application.
    mine = AdvertiserApi(client).list_advertisers()
    check([a.id for a in mine.data] == [ADV], f"advertisers/me: {mine.data}")
    app = GatewayApi(client).get_current_application()
    check(app.data.attributes.name == CLIENT_ID, "the application is the client id")

    # In-market vocabularies: the country with the most brand interest, its top brand and
    # a used product category.
    best = None
    for country in ["FR", "DE", "GB", "US", "ES", "IT", "NL", "IE"]:
        brands = api.get_audience_segments_in_market_brands(ADV, country).data
        total = sum(b.attributes.size for b in brands)
        if best is None or total > best[0]:
            best = (total, country, brands)
    _, country, brands = best
    check(len(brands) > 0, "the catalog has brands")
    brand = max(brands, key=lambda b: b.attributes.size)
    check(brand.attributes.name == brand.id, "brand ids are brand names")
    interests = api.get_audience_segments_in_market_interests(ADV, country).data
    check(len(interests) > 0, "the catalog has categories")
    leaves = [i for i in interests if not any(j.attributes.parent_id == i.id for j in interests)]
    interest = leaves[0]
    print(f"in-market: {country}, brand {brand.id} ({brand.attributes.size}), interest {interest.id}")

    # One segment of each creatable type.
    poi = [
        PointOfInterestV1(name="Paris", latitude=48.8566, longitude=2.3522),
        PointOfInterestV1(name="Berlin", latitude=52.52, longitude=13.405),
    ]
    res = api.create_audience_segments(
        AudienceSegmentBulkCreateInputV1(
            data=[
                seg("sdk in-market", in_market=InMarketCreateV1(country=country, brand_ids=[brand.id], interest_ids=[interest.id])),
                seg("sdk in-market rich", in_market=InMarketCreateV1(country=country, brand_ids=[brand.id],
                    buying_power=["High", "VeryHigh"], price_range=["Medium", "High"], gender="Female")),
                seg("sdk prospects", prospecting=ProspectingCreateV1(users_type="ProspectsOrNonBuyers",
                    days_since_last_visit_min=0, days_since_last_visit_max=30)),
                seg("sdk non-buyers", retargeting=RetargetingCreateV1(visitors_type="NonBuyers",
                    days_since_last_visit_min=0, days_since_last_visit_max=30)),
                seg("sdk buyers", retargeting=RetargetingCreateV1(visitors_type="Buyers",
                    days_since_last_visit_min=0, days_since_last_visit_max=60)),
                seg("sdk near cities", location=LocationCreateV1(radius_in_km=50, points_of_interest=poi)),
                seg("sdk crm", contact_list={}),
            ]
        )
    )
    check(not res.get("errors"), f"create errors: {res.get('errors')}")
    check(len(res.data) == 7, "seven segments created")
    ids = {r.attributes.name: r.id for r in res.data}
    types = [r.attributes.type for r in res.data]
    check(types == ["InMarket", "InMarket", "Prospecting", "Retargeting", "Retargeting", "Location", "ContactList"], f"types {types}")
    check(res.data[5].attributes.location.radius_in_km == 50, "radius round-trips as an int")
    check(res.data[1].attributes.in_market.buying_power == ["High", "VeryHigh"], "buying power round-trips")
    crm = ids["sdk crm"]
    lal = api.create_audience_segments(
        AudienceSegmentBulkCreateInputV1(data=[seg("sdk lookalike", lookalike=LookalikeCreateV1(seed_segment_id=crm, target_size=500))])
    )
    check(lal.data[0].attributes.type == "Lookalike", "lookalike created")
    check(lal.data[0].attributes.lookalike.seed_segment_id == crm, "seed round-trips")
    ids["sdk lookalike"] = lal.data[0].id

    # Contact list: add emails of simulated people (some typed in odd case) and junk.
    emails = []
    with open(os.environ["AUDEX_TRUTH"]) as f:
        for line in f:
            e = json.loads(line).get("email")
            if e:
                emails.append(e)
            if len(emails) >= 300:
                break
    check(len(emails) >= 50, "the simulation has contact emails")
    sent = [e.upper() if i % 7 == 0 else e for i, e in enumerate(emails)] + ["not-an-email", "@@", "x@"]
    mod = api.update_contact_list_by_audience_segment(
        crm,
        ContactlistAmendmentRequest(data=ContactlistAmendment(type="ContactlistAmendment",
            attributes=ContactlistAmendmentAttributes(operation="add", identifier_type="email", identifiers=sent))),
    )
    a = mod.data.attributes
    check(a.operation == "add", "operation echoed")
    check(a.nb_valid_identifiers == len(emails), f"valid {a.nb_valid_identifiers} of {len(emails)}")
    check(a.nb_invalid_identifiers >= 2, f"invalid {a.nb_invalid_identifiers}")
    check("not-an-email" in a.sample_invalid_identifiers, "sample of invalid identifiers")
    stats = api.get_audience_segment_contact_list_statistics(crm).data.attributes
    check(stats.number_of_identifiers == len(set(e.lower() for e in emails)), f"identifiers {stats.number_of_identifiers}")
    check(stats.number_of_matches > 0, "emails match simulated people")
    check(abs(stats.match_rate - stats.number_of_matches / stats.number_of_identifiers) < 1e-9, "match rate")
    api.update_contact_list_by_audience_segment(
        crm,
        ContactlistAmendmentRequest(data=ContactlistAmendment(type="ContactlistAmendment",
            attributes=ContactlistAmendmentAttributes(operation="remove", identifier_type="email", identifiers=emails[:10]))),
    )
    stats2 = api.get_audience_segment_contact_list_statistics(crm).data.attributes
    check(stats2.number_of_identifiers == stats.number_of_identifiers - len(set(e.lower() for e in emails[:10])), "remove")
    print(f"contact list: {stats2.number_of_identifiers} identifiers, {stats2.number_of_matches} matched")

    # Sizes of every segment equal the native API's; the contact-list segment is the matched people.
    sizes = segment_sizes(list(ids.values()))
    for name, sid in ids.items():
        check(sizes[sid] == native_size(sid), f"{name}: criteo {sizes[sid]} vs native {native_size(sid)}")
    check(sizes[crm] == stats2.number_of_matches, "contact-list size = matched people")
    check(sizes[ids["sdk in-market"]] > 0 and sizes[ids["sdk non-buyers"]] > 0, f"non-trivial sizes {sizes}")
    print("segment sizes:", {n: sizes[i] for n, i in ids.items()})

    # Segment estimates equal the native estimate of the same kind.
    for attrs, kind in [
        (dict(in_market=InMarketSizeEstimationV1(country=country, brand_ids=[brand.id])),
         {"inMarket": {"country": country, "brandIds": [brand.id]}}),
        (dict(location=LocationSizeEstimationV1(radius_in_km=50, points_of_interest=poi)),
         {"location": {"radiusInKm": 50, "pointsOfInterest": [{"name": p.name, "latitude": p.latitude, "longitude": p.longitude} for p in poi]}}),
    ]:
        est = api.estimate_audience_segments_sizes(AudienceSegmentEstimateSizeInputV1(
            data=AudienceSegmentSizeEstimationEntityV1Resource(type="AudienceSegment",
                attributes=AudienceSegmentSizeEstimationEntityV1(advertiser_id=ADV, **attrs))))
        check(est.data.attributes.size == native_estimate({"kind": kind}), f"estimate {kind}")
    check(est.data.attributes.size == sizes[ids["sdk near cities"]], "location estimate = location segment")

    # An algebra audience: (in-market or crm) and not buyers.
    algebra = AlgebraNodeV1(_and=[
        AlgebraNodeV1(_or=[AlgebraNodeV1(audience_segment_id=ids["sdk in-market"]), AlgebraNodeV1(audience_segment_id=crm)]),
        AlgebraNodeV1(_not=AlgebraNodeV1(audience_segment_id=ids["sdk buyers"])),
    ])
    wire = {"and": [{"or": [{"audienceSegmentId": ids["sdk in-market"]}, {"audienceSegmentId": crm}]},
                    {"not": {"audienceSegmentId": ids["sdk buyers"]}}]}
    aud = api.create_audiences(AudienceBulkCreateInputV1(data=[AudienceCreateEntityV1Resource(type="Audience",
        attributes=AudienceCreateEntityV1(advertiser_id=ADV, name="sdk mix", description="in-market or CRM, not buyers", algebra=algebra))]))
    check(not aud.get("errors"), f"audience errors {aud.get('errors')}")
    aid = aud.data[0].id
    check(aud.data[0].attributes.algebra._and[1]._not.audience_segment_id == ids["sdk buyers"], "algebra round-trips")
    asize = audience_sizes([aid])[aid]
    check(asize == native_size(aid), f"audience size {asize} vs native {native_size(aid)}")
    est = api.estimate_audiences_sizes(AudienceEstimateSizeInputV1(data=AudienceEstimateSizeEntityV1Resource(
        type="Audience", attributes=AudienceEstimateSizeEntityV1(advertiser_id=ADV, algebra=algebra))))
    check(est.data.attributes.size == asize, "estimate = compute size of the same algebra")
    check(est.data.attributes.size == native_estimate({"rule_json": to_rule_json(wire)}), "estimate = native estimate")
    check(0 < asize, f"audience size {asize}")
    print(f"audience {aid}: {asize}")

    # Search with pagination (page of 3 over 9 segments); type filter; audiences by segment.
    found, total = search_segments(3, advertiser_ids=[ADV])
    check(total == len(ids), f"total {total}")
    check(sorted(r.id for r in found) == sorted(ids.values()), "pages cover every segment once")
    only_rt, total_rt = search_segments(100, audience_segment_types=["Retargeting"])
    check(total_rt == 2 and all(r.attributes.type == "Retargeting" for r in only_rt), "type filter")
    auds = api.search_audiences(AudienceSearchInputV1(data=AudienceSearchEntityV1Resource(type="Audience",
        attributes=AudienceSearchEntityV1(audience_segment_ids=[crm]))))
    check([r.id for r in auds.data] == [aid] and auds.meta.total_items == 1, "audiences by segment")
    check(auds.meta.limit == 50 and auds.meta.offset == 0, "default paging")

    # Updates: widen the buyers window, rename; the audience's size follows, still native-equal.
    upd = api.update_audience_segments(AudienceSegmentBulkUpdateInputV1(data=[AudienceSegmentUpdateEntityV1Resource(
        id=ids["sdk buyers"], type="AudienceSegment", attributes=AudienceSegmentUpdateEntityV1(
            name="sdk buyers 90d", description=NillableString(value="bought in 90 days"),
            retargeting=RetargetingUpdateV1(days_since_last_visit_max=90)))]))
    r = upd.data[0].attributes
    check(r.name == "sdk buyers 90d" and r.description == "bought in 90 days", "renamed")
    check(r.retargeting.days_since_last_visit_max == 90 and r.retargeting.visitors_type == "Buyers", "partial update")
    s2 = segment_sizes([ids["sdk buyers"]])[ids["sdk buyers"]]
    check(s2 == native_size(ids["sdk buyers"]) and s2 >= sizes[ids["sdk buyers"]], "buyers size after update")
    a2 = audience_sizes([aid])[aid]
    check(a2 == native_size(aid) and a2 <= asize, "audience follows its segments")
    upd = api.update_audiences(AudienceBulkUpdateInputV1(data=[AudienceUpdateEntityV1Resource(id=aid, type="Audience",
        attributes=AudienceUpdateEntityV1(name="sdk mix 2", description=NillableString(value=None),
            algebra=AlgebraNodeV1(_or=[AlgebraNodeV1(audience_segment_id=ids["sdk non-buyers"]), AlgebraNodeV1(audience_segment_id=crm)])))]))
    check(upd.data[0].attributes.name == "sdk mix 2" and upd.data[0].attributes.description is None, "audience updated")
    check(audience_sizes([aid])[aid] == native_size(aid), "updated audience size")

    # Errors reach the client as ApiException with Criteo's envelope naming the field.
    try:
        api.create_audience_segments(AudienceSegmentBulkCreateInputV1(data=[seg("sdk in-market", contact_list={})]))
        check(False, "a duplicate name must fail")
    except ApiException as e:
        body = json.loads(e.body)
        check(e.status == 400 and body["errors"][0]["code"] == "name-must-be-unique", f"duplicate: {e.status} {e.body}")
        check(body["errors"][0]["source"]["pointer"] == "/data/0/attributes/name", "pointer names the field")
    try:
        api.compute_audience_segments_sizes(AudienceSegmentComputeSizesInputV1(data=[
            AudienceSegmentComputeSizeEntityV1Resource(id="aud_999999", type="AudienceSegmentSize", attributes={})]))
        check(False, "an unknown id must fail")
    except NotFoundException as e:
        check(json.loads(e.body)["errors"][0]["code"] == "segment-not-found", e.body)

    # Tenancy: another advertiser's credentials see none of this.
    other_id = os.environ.get("AUDEX_OTHER_CLIENT_ID")
    if other_id:
        other = AudienceApi(ApiClientBuilder.WithClientCredentials(other_id, os.environ["AUDEX_OTHER_CLIENT_SECRET"], host=HOST))
        try:
            other.search_audience_segments(AudienceSegmentSearchInputV1(data=AudienceSegmentSearchEntityV1Resource(
                type="AudienceSegment", attributes=AudienceSegmentSearchEntityV1(advertiser_ids=[ADV]))))
            check(False, "searching another advertiser must fail")
        except ForbiddenException:
            check(True, "forbidden")
        mine = other.search_audience_segments(AudienceSegmentSearchInputV1(data=AudienceSegmentSearchEntityV1Resource(
            type="AudienceSegment", attributes=AudienceSegmentSearchEntityV1())))
        check(mine.meta.total_items == 0, "the other advertiser has no segments")
        try:
            other.get_audience_segment_contact_list_statistics(crm)
            check(False, "another advertiser's list must be invisible")
        except NotFoundException:
            check(True, "not found")

    # Ad sets: link the audience, find it by ad set, unlink.
    campaigns = CampaignApi(client)

    def link(ad_set, audience_id):
        return campaigns.update_ad_set_audience(ad_set, AdSetAudienceLinkInputEntityV1(data=AdSetAudienceLinkEntityV1Resource(
            id=ad_set, type="AdSetAudience", attributes=AdSetAudienceLinkEntityV1(audience_id=audience_id))))

    linked = link("sdk-ad-set-1", aid)
    check(linked.data.id == "sdk-ad-set-1" and linked.data.attributes.audience_id == aid, "ad set linked")
    by_set = api.search_audiences(AudienceSearchInputV1(data=AudienceSearchEntityV1Resource(type="Audience",
        attributes=AudienceSearchEntityV1(ad_set_ids=["sdk-ad-set-1"]))))
    check([r.id for r in by_set.data] == [aid] and by_set.data[0].attributes.ad_set_ids == ["sdk-ad-set-1"], "search by ad set")
    check(link("sdk-ad-set-1", None).data.attributes.audience_id is None, "ad set unlinked")

    # Wipe the list, delete the audience and the segments.
    wiped = api.delete_contact_list_by_audience_segment(crm)
    check(wiped.data.id == crm, "wiped")
    check(api.get_audience_segment_contact_list_statistics(crm).data.attributes.number_of_identifiers == 0, "empty list")
    check(segment_sizes([crm])[crm] == 0 == native_size(crm), "empty list size")
    d = api.delete_audiences(AudienceBulkDeleteInputV1(data=[AudienceDeleteEntityV1Resource(id=aid, type="Audience", attributes={})]))
    check([r.id for r in d.data] == [aid], "audience deleted")
    order = [ids["sdk lookalike"]] + [v for k, v in ids.items() if k != "sdk lookalike"]
    d = api.delete_audience_segments(AudienceSegmentBulkDeleteInputV1(data=[
        AudienceSegmentDeleteEntityV1Resource(id=i, type="AudienceSegment", attributes={}) for i in order]))
    check(not d.get("errors") and sorted(r.id for r in d.data) == sorted(ids.values()), f"segments deleted: {d.get('errors')}")
    _, total = search_segments(10)
    check(total == 0, "nothing left")

    # Native audiences of kinds Criteo has no shape for are read-only Behavioral segments, and a
    # natively written algebra of in_audience is a Criteo audience.
    natives = [
        ({"name": "native carts", "kind": {"cartAbandoners": {"days": 14}}}, "BuyingPatterns"),
        ({"name": "native black friday", "kind": {"seasonality": {"season": "BlackFriday"}}}, "Seasonal"),
        ({"name": "native women", "kind": {"demographic": {"gender": ["Female"]}}}, "Lifestyles"),
        ({"name": "native viewers", "kind": {"events": {"event": "Product Viewed", "days": 30}}}, "BuyingPatterns"),
        ({"name": "native rule", "rule": "product_viewed within 30d and no order_completed within 30d"}, "BuyingPatterns"),
    ]
    nid = {}
    for body, _ in natives:
        status, v = native("POST", "/v1/audiences", body)
        check(status == 201, f"native create {body}: {status} {v}")
        nid[body["name"]] = v["id"]
    n_alg = {"or": [{"audienceSegmentId": nid["native carts"]}, {"audienceSegmentId": nid["native women"]}]}
    status, v = native("POST", "/v1/audiences", {"name": "native algebra", "rule_json": to_rule_json(n_alg)})
    check(status == 201, f"native algebra: {status} {v}")
    nalg = v["id"]
    behavioral, total = search_segments(2, audience_segment_types=["Behavioral"])
    check(total == len(natives), f"behavioral total {total}")
    cats = {r.attributes.name: r.attributes.behavioral.category for r in behavioral}
    check(cats == {b["name"]: c for b, c in natives}, f"categories {cats}")
    nsizes = segment_sizes(list(nid.values()))
    for name, i in nid.items():
        check(nsizes[i] == native_size(i), f"{name}: criteo {nsizes[i]} vs native {native_size(i)}")
    auds = api.search_audiences(AudienceSearchInputV1(data=AudienceSearchEntityV1Resource(type="Audience",
        attributes=AudienceSearchEntityV1(advertiser_ids=[ADV]))))
    check([r.id for r in auds.data] == [nalg], "the native algebra is a Criteo audience")
    check(auds.data[0].attributes.algebra._or[1].audience_segment_id == nid["native women"], "its algebra")
    check(audience_sizes([nalg])[nalg] == native_size(nalg), "native algebra size")
    mixed = api.create_audiences(AudienceBulkCreateInputV1(data=[AudienceCreateEntityV1Resource(type="Audience",
        attributes=AudienceCreateEntityV1(advertiser_id=ADV, name="sdk over behavioral", algebra=AlgebraNodeV1(_and=[
            AlgebraNodeV1(audience_segment_id=nid["native viewers"]),
            AlgebraNodeV1(_not=AlgebraNodeV1(audience_segment_id=nid["native rule"]))])))]))
    mid = mixed.data[0].id
    check(audience_sizes([mid])[mid] == native_size(mid), "algebra over behavioral segments")
    try:
        api.update_audience_segments(AudienceSegmentBulkUpdateInputV1(data=[AudienceSegmentUpdateEntityV1Resource(
            id=nid["native carts"], type="AudienceSegment", attributes=AudienceSegmentUpdateEntityV1(
                retargeting=RetargetingUpdateV1(days_since_last_visit_max=9)))]))
        check(False, "a behavioral segment cannot become retargeting")
    except ApiException as e:
        check(e.status == 400 and json.loads(e.body)["errors"][0]["code"] == "segment-type-cannot-change", e.body)
    print("behavioral:", {n: nsizes[i] for n, i in nid.items()})
    print(f"criteo SDK: {CHECKS} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED after {CHECKS} checks: {e}", file=sys.stderr)
        sys.exit(1)
