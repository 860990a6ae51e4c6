"""verify-identity from an independent client: Python grpcio, as integrators write theirs.

The stubs are generated from the repository's proto/ at test time (grpcio-tools), the service is
discovered by reflection and checked by the standard health service, and every RPC is called end
to end against the real binary, including the rich error details (google.rpc.BadRequest and
ErrorInfo in the grpc-status-details-bin trailer).

Run by .ci/run; by hand:

    python3 -m venv target/python-venv
    target/python-venv/bin/pip install -r tests/python/requirements.txt
    cargo build
    VERIFY_IDENTITY_BIN=target/debug/verify-identity target/python-venv/bin/pytest tests/python
"""

import hashlib
import importlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[2]
SERVICE = "verifyidentity.v1.VerifyIdentity"
INSURER = "32130011"
# Synthetic numbers with valid check digits; never real ones.
NUMBER = "123456789018"
OTHER_NUMBER = "983205673214"
# One receipt time for every request: a retry must repeat its request exactly.
RECEIVED_AT = int(time.time()) - 3600


def synthetic_number(serial: int) -> str:
    """A synthetic individual number with a valid check digit, distinct per serial."""
    base = f"{900000000000 // 10 + serial:011d}"[-11:]
    weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    r = sum(int(d) * w for d, w in zip(base, weights)) % 11
    return base + str(0 if r <= 1 else 11 - r)


def generate_stubs(out: Path):
    """Compiles proto/ with grpcio-tools into `out` and imports the generated modules."""
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{REPO / 'proto'}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        str(REPO / "proto/verifyidentity/v1/verify_identity.proto"),
    ]
    assert protoc.main(args) == 0, "protoc failed"
    sys.path.insert(0, str(out))
    pb = importlib.import_module("verifyidentity.v1.verify_identity_pb2")
    rpc = importlib.import_module("verifyidentity.v1.verify_identity_pb2_grpc")
    return pb, rpc


class Server:
    """The real binary on a free loopback port, with one caller holding every role."""

    def __init__(self, workdir: Path):
        self.token = secrets.token_urlsafe(32)
        digest = hashlib.sha256(self.token.encode()).hexdigest()
        config = workdir / "settings.toml"
        config.write_text(
            "\n".join(
                [
                    "[[callers]]",
                    'name = "python-client"',
                    f'token_sha256 = "{digest}"',
                    f'insurers = ["{INSURER}"]',
                    'roles = ["registrar", "operator"]',
                    "",
                ]
            )
        )
        binary = str(Path(os.environ.get("VERIFY_IDENTITY_BIN", REPO / "target/debug/verify-identity")).resolve())
        self.process = subprocess.Popen(
            [
                binary,
                "serve",
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--database",
                f"sqlite:{workdir / 'audit.sqlite'}",
                "--hmac-key-file",
                str(workdir / "hmac.key"),
            ],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addr = None
        found = threading.Event()

        def read_log():
            for line in self.process.stderr:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("message") == "serving":
                    self.addr = event.get("addr")
                    found.set()

        threading.Thread(target=read_log, daemon=True).start()
        if not found.wait(60):
            self.process.kill()
            raise RuntimeError("the server did not report its address")

    def stop(self):
        self.process.terminate()
        assert self.process.wait(30) == 0, "SIGTERM must drain and exit 0"


@pytest.fixture(scope="module")
def env():
    with tempfile.TemporaryDirectory(prefix="vi-python-") as tmp:
        tmp = Path(tmp)
        stubs = tmp / "stubs"
        stubs.mkdir()
        pb, rpc = generate_stubs(stubs)
        server = Server(tmp)
        channel = grpc.insecure_channel(server.addr)
        grpc.channel_ready_future(channel).result(timeout=30)
        yield {
            "pb": pb,
            "stub": rpc.VerifyIdentityStub(channel),
            "channel": channel,
            "auth": [("authorization", f"Bearer {server.token}")],
        }
        channel.close()
        server.stop()


def five(pb, kanji, kana, birth, sex, address):
    return pb.FiveFields(kanji_name=kanji, kana_name=kana, birth_date=birth, sex=sex, address=address)


def request(pb, request_id, subject="S-0001", result_kanji="山田 太郎", number=NUMBER):
    declared = five(pb, "山田 太郎", "ヤマダ タロウ", "昭和55年5月5日", "1", "東京都千代田区霞が関二丁目1番2号")
    query = five(pb, "山田　太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "S55.5.5", "男", "東京都千代田区霞が関2-1-2")
    result = five(pb, result_kanji, "ヤマダ タロウ", "1980-05-05", "1", "東京都千代田区霞が関二丁目1番2号")
    req = pb.VerifyRequest(
        request_id=request_id,
        insurer_number=INSURER,
        subject_id=subject,
        subject_kind=pb.SUBJECT_KIND_MEMBER,
        declared=declared,
        query=query,
        candidates=[pb.Candidate(fields=result, individual_number=number)],
    )
    req.received_at.FromSeconds(RECEIVED_AT)
    return req


def test_synthetic_numbers_have_valid_check_digits():
    assert synthetic_number(0) != synthetic_number(1)
    for known in ["123456789018", "983205673214", "111111111118", "123456789000"]:
        weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        r = sum(int(d) * w for d, w in zip(known[:11], weights)) % 11
        assert known[11] == str(0 if r <= 1 else 11 - r)


def test_reflection_lists_the_service_and_serves_its_descriptor(env):
    stub = reflection_pb2_grpc.ServerReflectionStub(env["channel"])
    answers = list(
        stub.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
                ]
            )
        )
    )
    names = [s.name for s in answers[0].list_services_response.service]
    assert SERVICE in names
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answers[1].file_descriptor_response.file_descriptor_proto]
    services = {f"{f.package}.{s.name}": [m.name for m in s.method] for f in files for s in f.service}
    assert set(services[SERVICE]) >= {
        "Verify",
        "VerifyBatch",
        "GetVerification",
        "CommitRegistration",
        "ResolveHold",
        "ListHolds",
    }


def test_health_reports_serving(env):
    health = health_pb2_grpc.HealthStub(env["channel"])
    for service in ["", SERVICE]:
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_a_call_without_a_token_is_unauthenticated(env):
    with pytest.raises(grpc.RpcError) as raised:
        env["stub"].Verify(request(env["pb"], "py-no-token"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_verify_get_and_commit_register_one_number(env):
    pb, stub, auth = env["pb"], env["stub"], env["auth"]
    response = stub.Verify(request(pb, "py-register-1", subject="S-REG-1"), metadata=auth, timeout=10)
    assert response.decision == pb.DECISION_REGISTER
    assert response.selected_candidate == 0
    assert response.verification_id
    classes = {(c.stage, c.field): c.match_class for c in response.comparisons}
    assert classes[(pb.STAGE_DECLARED_VS_QUERY, pb.FIELD_BIRTH_DATE)] == pb.MATCH_CLASS_NOTATION

    # The same request again is the same verification, not a new decision.
    again = stub.Verify(request(pb, "py-register-1", subject="S-REG-1"), metadata=auth, timeout=10)
    assert again.verification_id == response.verification_id

    record = stub.GetVerification(
        pb.GetVerificationRequest(verification_id=response.verification_id, insurer_number=INSURER),
        metadata=auth,
        timeout=10,
    )
    assert record.state == pb.VERIFICATION_STATE_DECIDED
    assert record.verification.decision == pb.DECISION_REGISTER
    assert record.subject_id == "S-REG-1"

    # Another number than the one the decision selected: refused, with the reason as ErrorInfo.
    with pytest.raises(grpc.RpcError) as raised:
        stub.CommitRegistration(
            pb.CommitRegistrationRequest(
                verification_id=response.verification_id,
                insurer_number=INSURER,
                subject_id="S-REG-1",
                individual_number=OTHER_NUMBER,
            ),
            metadata=auth,
            timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_status.from_call(raised.value)
    infos = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info.reason)
    assert infos == ["NUMBER_MISMATCH"]
    assert OTHER_NUMBER not in raised.value.details()

    committed = stub.CommitRegistration(
        pb.CommitRegistrationRequest(
            verification_id=response.verification_id,
            insurer_number=INSURER,
            subject_id="S-REG-1",
            individual_number=NUMBER,
        ),
        metadata=auth,
        timeout=10,
    )
    assert committed.commit_id
    record = stub.GetVerification(
        pb.GetVerificationRequest(verification_id=response.verification_id, insurer_number=INSURER),
        metadata=auth,
        timeout=10,
    )
    assert record.state == pb.VERIFICATION_STATE_COMMITTED


def test_a_bad_request_names_the_field_in_a_bad_request_detail(env):
    pb, stub, auth = env["pb"], env["stub"], env["auth"]
    bad = request(pb, "py-bad-1")
    bad.declared.kana_name = "ヤマダ\x07タロウ"
    bad.candidates[0].individual_number = "12345678901X"
    with pytest.raises(grpc.RpcError) as raised:
        stub.Verify(bad, metadata=auth, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields += [v.field for v in bad_request.field_violations]
    assert "declared.kana_name" in fields
    assert "candidates[0].individual_number" in fields
    assert "12345678901X" not in raised.value.details()


def test_verify_batch_answers_in_order_and_reports_a_bad_item_in_band(env):
    pb, stub, auth = env["pb"], env["stub"], env["auth"]
    # A number per subject: one number for two subjects would rightly be held.
    items = [request(pb, f"py-batch-{i}", subject=f"S-B-{i}", number=synthetic_number(i)) for i in range(20)]
    items[7].declared.sex = "\x07"
    answers = list(stub.VerifyBatch(iter(items), metadata=auth, timeout=30))
    assert [a.request_id for a in answers] == [f"py-batch-{i}" for i in range(20)]
    assert answers[7].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [v.field for v in answers[7].error.field_violations] == ["declared.sex"]
    assert all(a.decision == pb.DECISION_REGISTER for i, a in enumerate(answers) if i != 7)


def test_a_held_case_is_listed_and_resolved_by_an_operator(env):
    pb, stub, auth = env["pb"], env["stub"], env["auth"]
    held = stub.Verify(
        request(pb, "py-hold-1", subject="S-HOLD-1", result_kanji="山田 太朗"), metadata=auth, timeout=10
    )
    assert held.decision == pb.DECISION_HOLD
    assert list(held.hold_reasons) == [pb.HOLD_REASON_FIELD_DIFFERS]

    holds = stub.ListHolds(pb.ListHoldsRequest(insurer_number=INSURER, page_size=100), metadata=auth, timeout=10)
    ids = [h.verification.verification_id for h in holds.holds]
    assert held.verification_id in ids

    resolved = stub.ResolveHold(
        pb.ResolveHoldRequest(
            verification_id=held.verification_id,
            insurer_number=INSURER,
            resolution=pb.RESOLUTION_WITHDRAWN,
            operator_id="op-7",
            note="confirmed by phone: the form was for another person",
        ),
        metadata=auth,
        timeout=10,
    )
    assert resolved.record.state == pb.VERIFICATION_STATE_HOLD_RESOLVED
    assert resolved.record.resolution.resolution == pb.RESOLUTION_WITHDRAWN

    holds = stub.ListHolds(pb.ListHoldsRequest(insurer_number=INSURER, page_size=100), metadata=auth, timeout=10)
    assert held.verification_id not in [h.verification.verification_id for h in holds.holds]
