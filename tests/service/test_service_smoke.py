def test_pitch_and_audit_round_trip(env, service_client) -> None:
    teller = env.headers("teller", staff_id="T001")
    reply = service_client.post("/v1/pitch", json={"customer_id": "C00000001"}, headers=teller)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["degraded"] is False
    assert body["model_version"] == env.registry.alias_state().champion
    audit = service_client.get(f"/v1/audit/{body['request_id']}", headers=env.headers("compliance"))
    assert audit.status_code == 200
    assert audit.get_json()["payload"]["answer"]["pitch"] == body["pitch"]
