import json

from bot import signature

# Computed independently: openssl dgst -sha256 -hmac "bot-secret-123" -binary vec.json | base64
VECTOR_BODY = ('{"type":"message","source":{"userId":"u1","domainId":10000001},'
               '"issuedTime":"2022-01-04T05:16:05.716Z","content":{"type":"text","text":"こんにちは"}}').encode()
VECTOR_SECRET = "bot-secret-123"
VECTOR_SIGNATURE = "+Drr/cJES2VMU8p1paf4or6dmKP4wxr0I1W/5OvaAhA="


def test_known_vector():
    assert signature.sign(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE
    assert signature.verify(VECTOR_SECRET, VECTOR_BODY, VECTOR_SIGNATURE)


def test_tampered_body_fails():
    tampered = VECTOR_BODY.replace("こんにちは".encode(), "さようなら".encode())
    assert not signature.verify(VECTOR_SECRET, tampered, VECTOR_SIGNATURE)


def test_wrong_secret_fails():
    assert not signature.verify("other-secret", VECTOR_BODY, VECTOR_SIGNATURE)


def test_missing_or_garbage_signature_fails():
    assert not signature.verify(VECTOR_SECRET, VECTOR_BODY, None)
    assert not signature.verify(VECTOR_SECRET, VECTOR_BODY, "")
    assert not signature.verify(VECTOR_SECRET, VECTOR_BODY, "ｎｏｔ-ascii-署名")


def test_reserialised_json_does_not_verify():
    # Same event, different bytes (key order and spacing): the signature covers the raw body only.
    reserialised = json.dumps(json.loads(VECTOR_BODY), ensure_ascii=False, indent=1).encode()
    assert json.loads(reserialised) == json.loads(VECTOR_BODY)
    assert not signature.verify(VECTOR_SECRET, reserialised, VECTOR_SIGNATURE)
