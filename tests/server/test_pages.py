"""One page envelope everywhere: every list the API answers is `{items, total, next_offset}`,
but for the few answered whole on purpose (docs/api.md, Conventions)."""

WHOLE_ON_PURPOSE = {
    "/api/v1/plans",  # the price list
    "/api/v1/me/notification-preferences",  # a settings document, changed and answered whole
    "/api/v1/webhooks/event-types",  # a short fixed list
}


def test_every_list_answers_a_page_but_the_few_kept_whole(client):
    spec = client.get("/openapi.json").json()
    bare = set()
    for path, operations in spec["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            bare.add(path)
    assert bare == WHOLE_ON_PURPOSE
