"""An ESME written with the Python `smpplib` package, run against `smpp-sim`
(smpp-tools/tests/smpplib_client.rs) and `smpp-router` (smpp-router/tests/smpplib.rs). Binds as
a transceiver to HOST:PORT with SYSTEM_ID/PASSWORD, submits one GSM message, one long message
split by smpplib's own `smpplib.gsm.make_parts`, and one UCS-2 message, all asking for receipts, and reads until every submit has its submit_sm_resp and every
accepted one its receipt, or until DEADLINE seconds have passed.

Prints one JSON object per line, as things happen:
  {"bound": true}
  {"submit": LABEL, "seq": N, "data_coding": DC, "esm_class": E}   one per submit_sm (part)
  {"ack": LABEL, "seq": N, "status": S, "message_id": ID}
  {"receipt": ID_FROM_TLV, "message_state": N, "esm_class": E, "text": SHORT_MESSAGE}
  {"done": true} or {"timeout": true}
Exits 0 after {"done": true}, 1 after {"timeout": true}."""
import json
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm

host, port, system_id, password, deadline_secs = sys.argv[1:6]
deadline = time.monotonic() + float(deadline_secs)

# The long text is ASCII, so each part holds SEVENBIT_PART_SIZE (153) characters of it.
LONG = " ".join("w%03d" % i for i in range(80))  # 399 characters: three parts
MESSAGES = [
    ("gsm", "Hello from smpplib {GSM} @ 1$", smpplib.consts.SMPP_ENCODING_DEFAULT),
    ("long", LONG, smpplib.consts.SMPP_ENCODING_DEFAULT),
    ("ucs2", "Привет smpplib \u263a", smpplib.consts.SMPP_ENCODING_ISO10646),
]


def emit(obj):
    print(json.dumps(obj), flush=True)


labels = {}  # sequence number -> label
acked = set()  # message ids acked with ESME_ROK
receipts = set()  # receipted message ids
answers = 0


def on_sent(pdu):
    global answers
    answers += 1
    message_id = getattr(pdu, "message_id", None)
    message_id = message_id.decode() if isinstance(message_id, bytes) else message_id
    emit({"ack": labels.get(pdu.sequence), "seq": pdu.sequence, "status": pdu.status,
          "message_id": message_id})
    if pdu.status == smpplib.consts.SMPP_ESME_ROK:
        acked.add(message_id)


def on_received(pdu):
    rid = getattr(pdu, "receipted_message_id", None)
    rid = rid.decode() if isinstance(rid, bytes) else rid
    emit({"receipt": rid, "message_state": getattr(pdu, "message_state", None),
          "esm_class": pdu.esm_class, "text": pdu.short_message.decode(errors="replace")})
    if rid is not None:
        receipts.add(rid)


def on_error(pdu):
    # smpplib calls this first, then still hands a submit_sm_resp to on_sent: a refused submit
    # is an answer too. Any other error answer is fatal.
    if pdu.command != "submit_sm_resp":
        raise smpplib.exceptions.PDUError("%s status %d" % (pdu.command, pdu.status))


client = smpplib.client.Client(host, int(port), timeout=1, allow_unknown_opt_params=True)
client.set_message_sent_handler(on_sent)
client.set_message_received_handler(on_received)
client.set_error_pdu_handler(on_error)
client.connect()
client.bind_transceiver(system_id=system_id, password=password)
emit({"bound": True})

submits = 0
for label, text, encoding in MESSAGES:
    parts, data_coding, esm_class = smpplib.gsm.make_parts(text, encoding=encoding)
    for i, part in enumerate(parts):
        pdu = client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_INTL,
            source_addr="4915550001",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            destination_addr="4915559999",
            short_message=part,
            data_coding=data_coding,
            esm_class=esm_class,
            registered_delivery=smpplib.consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
        )
        labels[pdu.sequence] = label
        # The part's text: the whole text, or for the (ASCII) long text its slice.
        size = smpplib.consts.SEVENBIT_PART_SIZE
        part_text = text if len(parts) == 1 else text[size * i:size * (i + 1)]
        submits += 1
        emit({"submit": label, "seq": pdu.sequence, "data_coding": data_coding,
              "esm_class": esm_class, "parts": len(parts), "text": part_text})

while answers < submits or not acked <= receipts:
    if time.monotonic() > deadline:
        emit({"timeout": True})
        sys.exit(1)
    client.read_once()  # at most one socket timeout (1 s), then an enquire_link

client.unbind()
client.disconnect()
emit({"done": True})
